"""Scripted LLM replies for the search tests (CartPole-v1)."""

from __future__ import annotations

GOOD = """Here is a reward that keeps the pole upright.

```python
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    upright_temperature = 0.1
    alive = jnp.float32(1.0)
    upright = jnp.exp(-jnp.abs(next_state.theta) / upright_temperature)
    centered = -0.05 * jnp.abs(next_state.x)
    total = alive + upright + centered
    return total, {"alive": alive, "upright": upright, "centered": centered}
```
"""

GOOD_VARIANT = GOOD.replace("upright_temperature = 0.1", "upright_temperature = 0.2")

BROKEN = """```python
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    tilt = jnp.abs(next_state.pole_tilt_angle)
    return -tilt, {"tilt": -tilt}
```
"""

SLOW = """```python
import jax
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    upright = 1.0 - jnp.abs(next_state.theta)
    busy = jax.lax.fori_loop(0, 100_000_000, lambda i, x: x * 0.9999 + 0.0001, upright)
    total = upright + 1e-6 * busy
    return total, {"upright": upright, "busy": 1e-6 * busy}
```
"""

# a reward that pays the agent to fail fast: it must never be selected over GOOD
FENCED_BAD = """First, the idea:

```text
penalise every step
```

A tiny example of the helper:

```python
step_penalty = -1.0
```

And the reward:

```python
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    step_penalty = jnp.float32(-1.0)
    return step_penalty, {"step_penalty": step_penalty}
```
"""

NO_CODE = "I am not sure what to write here; could you tell me more about the task?"

SYNTAX = """```python
def compute_reward(state, action, next_state)
    return 1.0, {}
```
"""
