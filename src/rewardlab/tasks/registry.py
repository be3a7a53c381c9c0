"""Task registry: `register`, `get`, `names`.

Tasks register themselves when their module is imported; `get` imports the built-in suites on
first use so that `import rewardlab.tasks` stays cheap.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from rewardlab.tasks.base import Task

_FACTORIES: dict[str, Callable[[], Task]] = {}
_CACHE: dict[str, Task] = {}
_BUILTINS_LOADED = False


def register(name: str, factory: Callable[[], Task]) -> None:
    """Register a task factory under `name` (a later registration of the same name replaces it)."""
    _FACTORIES[name] = factory
    _CACHE.pop(name, None)


def _load_builtins() -> None:
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        _BUILTINS_LOADED = True
        from rewardlab.tasks import classic  # noqa: F401  (registers on import)


def names() -> list[str]:
    """Names of every registered task, sorted."""
    _load_builtins()
    return sorted(_FACTORIES)


def get(name: str) -> Task:
    """The task called `name`; an unknown name raises KeyError listing close matches."""
    _load_builtins()
    if name not in _FACTORIES:
        close = difflib.get_close_matches(name, list(_FACTORIES), n=3, cutoff=0.4)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown task {name!r}.{hint} Known tasks: {', '.join(sorted(_FACTORIES))}")
    if name not in _CACHE:
        _CACHE[name] = _FACTORIES[name]()
    return _CACHE[name]
