# expect: syntax
def compute_reward(state, action, next_state):
    name = "upright
    return 1.0, {name: 1.0}
