"""Task registry: `register`, `get`, `names`, and the `rewardlab.tasks` entry points of installed packages.

Tasks register themselves when their module is imported; `get` imports the built-in suites on
first use so that `import rewardlab.tasks` stays cheap. An installed package can add tasks without
being imported first by declaring them in the `rewardlab.tasks` entry-point group
(`MyTask-v0 = "my_package.tasks:make_task"`); they are listed by `names()` and loaded by `get()`.
To name a task by file or module instead, see `rewardlab.tasks.ref`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from rewardlab.tasks.base import Task

ENTRY_POINT_GROUP = "rewardlab.tasks"
GYM_PREFIX = "gymnasium:"

_FACTORIES: dict[str, Callable[[], Task]] = {}
_CACHE: dict[str, Task] = {}
_BUILTINS_LOADED = False


def register(name: str, factory: Callable[[], Task]) -> None:
    """Register a task factory under `name` (a later registration of the same name replaces it).

    Training happens in fresh processes, which find a registered task again by importing the factory's
    module (or the script that registered it), so register a module-level function, not a lambda.
    """
    _FACTORIES[name] = factory
    _CACHE.pop(name, None)


def _load_builtins() -> None:
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        _BUILTINS_LOADED = True
        from rewardlab.tasks import (  # noqa: F401  (they register on import)
            brax,
            bsuite,
            classic,
            crafting,
            minatar,
            ultimatum,
            xland,
        )


def _entry_points() -> dict[str, EntryPoint]:
    try:
        return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    except Exception:  # a broken distribution's metadata must not break the built-in tasks
        return {}


def names() -> list[str]:
    """Names of every registered task and every installed entry-point task, sorted."""
    _load_builtins()
    return sorted(set(_FACTORIES) | set(_entry_points()))


def factory(name: str) -> Callable[[], Task] | None:
    """The factory registered under `name`, or None."""
    _load_builtins()
    return _FACTORIES.get(name)


def entry_point(name: str) -> EntryPoint | None:
    """The installed `rewardlab.tasks` entry point called `name`, or None."""
    return _entry_points().get(name)


def unknown_message(name: str) -> str:
    known = names()
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.4)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return (
        f"unknown task {name}.{hint} Known tasks: {', '.join(known)}; "
        "a Gymnasium environment: gymnasium:ENV_ID; your own environment: FILE.py:attr or package.module:attr"
    )


def get(name: str) -> Task:
    """The task called `name` (registered or an installed entry point); an unknown name raises KeyError."""
    _load_builtins()
    if name in _CACHE:
        return _CACHE[name]
    if name.startswith(GYM_PREFIX):  # `gymnasium:ENV_ID`: built on demand, not listed by names()
        from rewardlab.tasks.gym_adapter import GymTaskError
        from rewardlab.tasks.gym_suite import gym_task

        try:
            _CACHE[name] = gym_task(name)
        except GymTaskError as exc:
            raise KeyError(str(exc)) from None
        return _CACHE[name]
    if name in _FACTORIES:
        _CACHE[name] = _FACTORIES[name]()
        return _CACHE[name]
    ep = entry_point(name)
    if ep is None:
        raise KeyError(unknown_message(name))
    obj: Any = ep.load()
    task = obj if isinstance(obj, Task) else obj()
    if not isinstance(task, Task):
        raise KeyError(f"entry point {name} ({ep.value}) did not give a rewardlab Task")
    _CACHE[name] = task
    return task
