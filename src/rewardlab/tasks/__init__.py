"""Tasks: what to solve and how success is measured.

`names`, `get` and `register` are the registry of named tasks; `resolve` also accepts `FILE.py:attr` and
`package.module:attr` references and `gymnasium:ENV_ID`; `from_gymnax` builds a task from any gymnax-API
environment, `from_gymnasium` one from a Gymnasium environment (trained by the `sb3` engine).
"""

from rewardlab.tasks.adapter import ActionSpec, EnvAdapter, GymnaxAdapter
from rewardlab.tasks.base import Task
from rewardlab.tasks.builder import from_gymnax
from rewardlab.tasks.gym_adapter import GymnasiumAdapter, GymTaskError
from rewardlab.tasks.gym_builder import from_gymnasium
from rewardlab.tasks.ref import TaskRef, TaskRefError, resolve
from rewardlab.tasks.registry import get, names, register

__all__ = [
    "ActionSpec",
    "EnvAdapter",
    "GymTaskError",
    "GymnasiumAdapter",
    "GymnaxAdapter",
    "Task",
    "TaskRef",
    "TaskRefError",
    "from_gymnasium",
    "from_gymnax",
    "get",
    "names",
    "register",
    "resolve",
]
