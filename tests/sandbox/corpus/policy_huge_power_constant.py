# expect: policy
# message: huge
# Constant folding this would hang any process that compiled it; the parent never compiles it.
def compute_reward(state, action, next_state):
    scale = 10 ** 10 ** 10
    return scale * next_state.x, {}
