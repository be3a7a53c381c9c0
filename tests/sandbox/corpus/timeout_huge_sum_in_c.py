# expect: timeout
# A C-level loop: signals cannot interrupt it, only the wall-clock limit can.
N = int("1" + "0" * 13)
TOTAL = sum(range(N))


def compute_reward(state, action, next_state):
    return 1.0, {}
