# expect: memory
COUNT = int(2e11)
TEXT = "x" * COUNT


def compute_reward(state, action, next_state):
    return 1.0, {}
