"""rewardlab: large language models design the rewards that reinforcement-learning agents learn from."""

__version__ = "0.1.0"
