# expect: timeout
# Not a literal, so the static check cannot see it: the exponent is built at run time.
EXPONENT = int("1" + "0" * 8)
HUGE = 7 ** EXPONENT


def compute_reward(state, action, next_state):
    return 1.0, {}
