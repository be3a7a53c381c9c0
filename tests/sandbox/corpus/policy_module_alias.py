# expect: policy
# message: module-value
import jax

j = jax


def compute_reward(state, action, next_state):
    j.debug.print("{}", next_state.x)
    return 1.0, {}
