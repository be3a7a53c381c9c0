# expect: policy
def compute_reward(state, action, next_state):
    b = globals()["__builtins__"]
    return 1.0, {}
