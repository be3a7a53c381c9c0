# expect: syntax
# message: markdown
```python
import jax.numpy as jnp

def compute_reward(state, action, next_state):
    return jnp.float32(1.0), {}
```
