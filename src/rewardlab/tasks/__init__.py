"""Tasks: what to solve and how success is measured (`list`/`names`, `get`, `register`, `check_task`)."""

from rewardlab.tasks.base import Task
from rewardlab.tasks.registry import get, names, register

__all__ = ["Task", "get", "names", "register"]
