# expect: timeout
def compute_reward(state, action, next_state):
    steps = 0
    while True:
        steps += 1
    return 1.0, {}
