"""Tasks: what to solve and how success is measured.

`names`, `get` and `register` are the registry of named tasks; `resolve` also accepts `FILE.py:attr` and
`package.module:attr` references; `from_gymnax` builds a task from any gymnax-API environment.
"""

from rewardlab.tasks.adapter import ActionSpec, EnvAdapter, GymnaxAdapter
from rewardlab.tasks.base import Task
from rewardlab.tasks.builder import from_gymnax
from rewardlab.tasks.ref import TaskRef, TaskRefError, resolve
from rewardlab.tasks.registry import get, names, register

__all__ = [
    "ActionSpec",
    "EnvAdapter",
    "GymnaxAdapter",
    "Task",
    "TaskRef",
    "TaskRefError",
    "from_gymnax",
    "get",
    "names",
    "register",
    "resolve",
]
