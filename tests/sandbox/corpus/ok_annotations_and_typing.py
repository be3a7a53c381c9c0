# expect: ok
# Eureka-style annotations naming types the program cannot see: annotations are never evaluated.
from typing import Dict, Tuple

import jax.numpy as jnp


def compute_reward(state: EnvState, action: jnp.ndarray, next_state: EnvState) -> Tuple[jnp.ndarray, Dict[str, jnp.ndarray]]:
    alive = jnp.float32(1.0)
    return alive, {"alive": alive}
