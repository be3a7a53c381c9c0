# expect: policy
# message: jax.debug
import jax
import jax.numpy as jnp


def leak(x):
    open("/tmp/rewardlab_corpus_pwned", "w").write(str(x))


def compute_reward(state, action, next_state):
    jax.debug.callback(leak, next_state.x)
    return jnp.float32(1.0), {}
