# expect: policy
# message: .format
def compute_reward(state, action, next_state):
    name = "{0.__class__.__init__.__globals__}".format(state)
    return 1.0, {}
