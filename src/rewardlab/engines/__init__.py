"""Training engines behind one contract (`rewardlab.engines.base`): `get(name)` returns an `Engine`.

`ppo_jax`: PPO in JAX, a batch of reward candidates x seeds vmapped together (gymnax-API tasks).
`sb3`: stable-baselines3 PPO (torch) over a vectorised Gymnasium environment, the candidate reward computed
by a jitted, vmapped reward program on each step's batch of transitions (Gymnasium tasks).
"""

from rewardlab.engines.base import Engine, ProgressInfo, get, names

__all__ = ["Engine", "ProgressInfo", "get", "names"]
