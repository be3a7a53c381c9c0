"""Turn reward-program source text into a callable that follows the transition-reward contract.

The contract (what every reward in rewardlab is, whoever wrote it)::

    def compute_reward(state, action, next_state):
        ...
        return total, {"component_name": value, ...}

* `state` / `next_state` are the environment's state records (gymnax dataclasses; read fields such
  as `next_state.theta`). On a terminal transition `next_state` is the true final state, never the
  state the environment was reset to.
* `action` is an int32 scalar for discrete tasks and a float32 array of shape `(action_dim,)`,
  already clipped to the action bounds, for continuous tasks.
* `total` is a scalar; `components` maps short names to scalars whose weighted parts make up the
  total. Components are what reward reflection reports back to the LLM.
* The function is pure and written with `jax.numpy` (`jnp`): the engine `vmap`s and `jit`s it.

This module executes source in-process, so it is only for trusted programs (the task's built-in
rewards and the user's own files). Untrusted, LLM-written code goes through `rewardlab.sandbox`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

from rewardlab.types import RewardProgram

REWARD_FN_NAME = "compute_reward"
REWARD_PARAMS = ("state", "action", "next_state")

RewardFn = Callable[[Any, Any, Any], tuple[Any, dict[str, Any]]]


class RewardProgramError(ValueError):
    """A reward program could not be turned into a callable; the message says why and where."""


def program_namespace() -> dict[str, Any]:
    """Names every reward program may use without importing them."""
    return {"jax": jax, "jnp": jnp, "math": math, "__name__": "reward_program"}


def load_reward_fn(program: RewardProgram) -> RewardFn:
    """Execute a trusted program's source and return its `compute_reward` function."""
    try:
        code = compile(program.source, f"<reward {program.name}>", "exec")
    except SyntaxError as exc:
        raise RewardProgramError(
            f"reward {program.name!r}: syntax error on line {exc.lineno}: {exc.msg}"
        ) from None
    namespace = program_namespace()
    try:
        exec(code, namespace)
    except Exception as exc:  # the user's module body raised
        raise RewardProgramError(f"reward {program.name!r}: running the module failed: {exc!r}") from None
    fn = namespace.get(REWARD_FN_NAME)
    if not callable(fn):
        raise RewardProgramError(f"reward {program.name!r}: no function named {REWARD_FN_NAME!r} is defined")
    params = tuple(inspect.signature(fn).parameters)
    if len(params) != len(REWARD_PARAMS):
        raise RewardProgramError(
            f"reward {program.name!r}: {REWARD_FN_NAME} must take exactly "
            f"({', '.join(REWARD_PARAMS)}), got ({', '.join(params)})"
        )
    return fn


def read_program(path: str | Path, name: str | None = None) -> RewardProgram:
    """Read a reward program from a `.py` file the user wrote."""
    p = Path(path)
    if not p.is_file():
        raise RewardProgramError(f"reward file not found: {p}")
    return RewardProgram(name=name or p.stem, source=p.read_text(encoding="utf-8"), origin="file")
