# expect: syntax
# message: line 5
# The parser accepts this; only the compiler (in the child) rejects it.
def compute_reward(state, action, next_state):
    break
    return 1.0, {}
