# expect: timeout
def slow():
    n = 0
    while n >= 0:
        n += 1
    return n


LIMIT = slow()


def compute_reward(state, action, next_state):
    return 1.0, {}
