# expect: syntax
Here is a reward function that keeps the pole upright:

def compute_reward(state, action, next_state):
    return 1.0, {}
