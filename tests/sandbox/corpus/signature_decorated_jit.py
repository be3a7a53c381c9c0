# expect: signature
# message: decorated
import jax


@jax.jit
def compute_reward(state, action, next_state):
    return 1.0, {}
