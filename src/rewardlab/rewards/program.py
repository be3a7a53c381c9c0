"""Turn reward-program source text into a callable that follows the transition-reward contract.

The contract (what every reward in rewardlab is, whoever wrote it)::

    def compute_reward(state, action, next_state):              # or (state, action, next_state, env_reward)
        ...
        return total, {"component_name": value, ...}

* `state` / `next_state` are the environment's state records (gymnax dataclasses; read fields such
  as `next_state.theta`). On a terminal transition `next_state` is the true final state, never the
  state the environment was reset to.
* `env_reward` (optional fourth parameter) is the reward the environment's own step returned for this
  transition. A task whose baseline is "the environment's reward" writes it as
  `return env_reward, {"env": env_reward}`, and a search can then add shaping terms to it.
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
ENV_REWARD_PARAM = "env_reward"

RewardFn = Callable[..., tuple[Any, dict[str, Any]]]
"""`compute_reward` as written: three parameters, or four with `env_reward` last."""

TransitionFn = Callable[[Any, Any, Any, Any], tuple[Any, dict[str, Any]]]
"""What engines and checks call: (state, action, next_state, env_reward) -> (total, components)."""


class RewardProgramError(ValueError):
    """A reward program could not be turned into a callable; the message says why and where."""


def program_namespace() -> dict[str, Any]:
    """Names every reward program may use without importing them."""
    return {"jax": jax, "jnp": jnp, "math": math, "__name__": "reward_program"}


def signature_problem(fn: Callable[..., Any]) -> str | None:
    """Why `fn` does not have the contract's parameters, or None when it does."""
    try:
        params = tuple(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return "its signature cannot be read"
    if params in (REWARD_PARAMS, (*REWARD_PARAMS, ENV_REWARD_PARAM)):
        return None
    return (
        f"{REWARD_FN_NAME} must take ({', '.join(REWARD_PARAMS)}) or "
        f"({', '.join((*REWARD_PARAMS, ENV_REWARD_PARAM))}), got ({', '.join(params)})"
    )


def transition_fn(fn: RewardFn) -> TransitionFn:
    """`fn` as a function of (state, action, next_state, env_reward), whichever form it was written in."""
    if len(inspect.signature(fn).parameters) == len(REWARD_PARAMS) + 1:
        return fn
    return lambda s, a, ns, env_reward: fn(s, a, ns)


def load_reward_fn(program: RewardProgram) -> RewardFn:
    """A trusted program's `compute_reward`: its callable if the task gave one, else its source, executed."""
    if program.fn is not None:
        return program.fn
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
    problem = signature_problem(fn)
    if problem:
        raise RewardProgramError(f"reward {program.name!r}: {problem}")
    return fn


def read_program(path: str | Path, name: str | None = None) -> RewardProgram:
    """Read a reward program from a `.py` file the user wrote (a clear error for anything unreadable)."""
    p = Path(path)
    if p.is_dir():
        raise RewardProgramError(f"reward file {p} is a directory, not a .py file")
    if not p.is_file():
        raise RewardProgramError(f"reward file not found: {p}")
    try:
        source = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RewardProgramError(f"reward file {p} is not UTF-8 text (is it a Python file?)") from None
    except OSError as exc:
        raise RewardProgramError(f"cannot read reward file {p}: {exc.strerror or exc}") from None
    if not source.strip():
        raise RewardProgramError(f"reward file {p} is empty")
    return RewardProgram(name=name or p.stem, source=source, origin="file")
