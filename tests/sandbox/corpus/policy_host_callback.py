# expect: policy
import jax.experimental.host_callback as hcb


def compute_reward(state, action, next_state):
    hcb.id_tap(lambda *a: None, next_state.x)
    return 1.0, {}
