"""rewardlab: large language models design the rewards that reinforcement-learning agents learn from."""

from rewardlab import _xla_flags

_xla_flags.apply()

__version__ = "0.1.0"
