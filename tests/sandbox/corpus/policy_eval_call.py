# expect: policy
# message: `eval` is not allowed
def compute_reward(state, action, next_state):
    total = eval("next_state.x * 2")
    return total, {}
