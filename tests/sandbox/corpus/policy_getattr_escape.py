# expect: policy
# message: getattr
def compute_reward(state, action, next_state):
    cls = getattr(state, "__cl" + "ass__")
    return 1.0, {}
