"""`check_task`: what every registered task must satisfy, run over the whole registry in CI.

In the spirit of Gymnasium's `check_env`: a task added by a user gets the same checks as the built-in
ones, and each failure says which promise of the Task contract is broken.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rewardlab.config import PPOConfig
from rewardlab.jax_cache import enable_compilation_cache
from rewardlab.rewards.program import load_reward_fn, transition_fn
from rewardlab.tasks.adapter import reward_state, state_fields
from rewardlab.tasks.base import Task
from rewardlab.tasks.gym_adapter import EnvStepError, is_host
from rewardlab.tasks.rollout import random_transitions


class TaskCheckError(AssertionError):
    """A task breaks the Task contract; the message names the task and the broken promise."""


def _fail(task: Task, msg: str) -> TaskCheckError:
    return TaskCheckError(f"task {task.name!r}: {msg}")


def check_task(task: Task, n_envs: int = 8, n_steps: int | None = None) -> None:
    """Raise TaskCheckError if `task` breaks the contract; return None if it passes.

    Checks: text fields are filled in; the environment adapter has a discrete or box action space, an
    observation shape and an episode limit; reset and step trace under `jax.eval_shape`; the state rewards
    see (`reward_state`: the carried state unless the adapter gives a view) is a named record of numeric
    arrays and `state_doc` documents exactly its fields; the human and sparse programs
    load and return a finite scalar total and a dict of finite scalar components on random
    transitions (terminal ones included); the fitness of random-policy episodes is finite and
    inside `fitness_range`. The random rollout runs `n_steps` steps per environment (default: 1000, or
    the episode limit when that is longer, so that an episode always ends).
    """
    enable_compilation_cache()  # the random rollout compiles the same program in every command
    for field in ("name", "description", "fitness_doc", "action_doc"):
        if not str(getattr(task, field)).strip():
            raise _fail(task, f"{field} is empty")
    if not isinstance(task.ppo, PPOConfig):
        raise _fail(task, "ppo must be a PPOConfig")

    try:
        env = task.env
        spec = env.action_spec
        obs_shape = env.obs_shape
        limit = env.max_episode_steps
    except Exception as exc:
        raise _fail(task, f"the environment does not fit rewardlab: {_why(exc)}") from exc
    if not spec.discrete and (spec.low is None or spec.high is None):
        raise _fail(task, "a continuous action space needs low and high bounds")
    if spec.n < 1:
        raise _fail(task, f"the action space is empty (n={spec.n})")
    if limit < 1:
        raise _fail(task, f"the episode limit must be >= 1 step (got {limit})")
    if any(d < 1 for d in obs_shape):
        raise _fail(task, f"the observation space has no usable shape ({obs_shape})")

    if is_host(env):  # a Gymnasium environment: its adapter checked reset, step and the state mapping
        state = reward_state(env, env.template())
        check_state(task, state)
    else:
        state = _check_traceable(task, env, spec, obs_shape)
    fields = set(state_fields(state))
    documented = set(task.state_doc)
    if fields != documented:
        raise _fail(
            task,
            f"state_doc must document exactly the state fields; missing {sorted(fields - documented)}, "
            f"unknown {sorted(documented - fields)}",
        )

    try:
        tr = random_transitions(task, n_envs, n_steps or max(1000, limit))
    except EnvStepError as exc:
        raise _fail(task, f"random-policy rollout failed: {exc}") from None
    for program in (task.human, task.sparse):
        try:
            fn = transition_fn(load_reward_fn(program))
            total, comps = jax.jit(jax.vmap(fn))(tr.state, tr.action, tr.next_state, tr.env_reward)
        except Exception as exc:
            raise _fail(task, f"{program.origin} reward fails on random transitions: {_why(exc)}") from exc
        n = tr.action.shape[0]
        if jnp.shape(total) not in ((n,), (n, 1)):
            raise _fail(
                task, f"{program.origin} reward total must be a scalar, got shape {jnp.shape(total)[1:]}"
            )
        if not np.all(np.isfinite(np.asarray(total))):
            raise _fail(task, f"{program.origin} reward total is not finite on random transitions")
        if not isinstance(comps, dict) or not comps:
            raise _fail(task, f"{program.origin} reward must return a non-empty dict of components")
        for k, v in comps.items():
            if jnp.shape(v) not in ((n,), (n, 1)) or not np.all(np.isfinite(np.asarray(v))):
                raise _fail(task, f"{program.origin} component {k!r} must be a finite scalar")

    fitness = _random_policy_fitness(task, tr, n_envs)
    if not math.isfinite(fitness):
        raise _fail(task, f"fitness of random-policy episodes is not finite ({fitness})")
    if task.fitness_range is not None:
        lo, hi = task.fitness_range
        if not lo <= fitness <= hi:
            raise _fail(
                task, f"random-policy fitness {fitness} is outside fitness_range {task.fitness_range}"
            )


def _check_traceable(task: Task, env: Any, spec: Any, obs_shape: tuple[int, ...]) -> Any:
    """reset and step of a jittable (gymnax-API) environment trace under `jax.eval_shape`; the state as
    rewards see it (the carried state must hold arrays, the engine selects and stacks it)."""
    try:
        obs, state = jax.eval_shape(env.reset, jax.random.PRNGKey(0))
    except Exception as exc:
        raise _fail(task, f"reset fails under jax.eval_shape: {_why(exc)}") from exc
    try:
        view = jax.eval_shape(lambda s: reward_state(env, s), state)
    except Exception as exc:
        raise _fail(task, f"the adapter's reward_state fails under jax.eval_shape: {_why(exc)}") from exc
    check_state(task, view)
    for leaf in jax.tree.leaves(state):
        if not _numeric(leaf):
            raise _fail(task, f"the carried state holds a {type(leaf).__name__}, not a numeric array")
    if math.prod(obs.shape) != math.prod(obs_shape):
        raise _fail(task, f"reset returns an observation of shape {obs.shape}, the space says {obs_shape}")
    try:
        out = jax.eval_shape(env.step, jax.random.PRNGKey(0), state, spec.zero_action())
    except Exception as exc:
        raise _fail(task, f"step fails under jax.eval_shape: {_why(exc)}") from exc
    if jax.tree.structure(out.state) != jax.tree.structure(state):
        raise _fail(task, "step returns a state with a different structure from reset's")
    return view


def _numeric(leaf: Any) -> bool:
    """Whether a state leaf is an array (or shape) of numbers or booleans, as the engine stacks them."""
    dtype = getattr(leaf, "dtype", None)
    return dtype is not None and (jnp.issubdtype(dtype, jnp.number) or jnp.issubdtype(dtype, jnp.bool_))


def check_state(task: Task, state: Any) -> None:
    """The state must be a named record (dataclass or NamedTuple) whose leaves are numeric arrays."""
    if not state_fields(state):
        raise _fail(
            task,
            f"the state must be a dataclass (e.g. flax.struct.dataclass) or a NamedTuple with named fields, "
            f"got {type(state).__name__}",
        )
    for name in state_fields(state):
        for leaf in jax.tree.leaves(getattr(state, name)):
            if not _numeric(leaf):
                dtype = getattr(leaf, "dtype", None)
                raise _fail(
                    task,
                    f"state field {name!r} is not a pytree of numeric arrays (found {type(leaf).__name__}"
                    + (f" of dtype {dtype}" if dtype is not None else "")
                    + "); rewards and the engine need arrays",
                )


def _why(exc: BaseException) -> str:
    """`NotImplementedError (raised in is_terminated, environment.py line 162)`: what and where, one line."""
    text = " ".join(str(exc).split())
    head = f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None:
        return head
    code = last.tb_frame.f_code
    return f"{head} (raised in {code.co_name}, {Path(code.co_filename).name} line {last.tb_lineno})"


def _random_policy_fitness(task: Task, tr, n_envs: int) -> float:
    """Fitness over the episodes the random policy finished, to exercise `fitness` and the signals."""
    signals = jax.vmap(task.episode_signals)(tr.state, tr.action, tr.next_state, tr.terminated)
    rows = {"term": tr.terminated, "trunc": tr.truncated, "reward": tr.env_reward, **signals}
    rows = {k: np.asarray(v).reshape(n_envs, -1) for k, v in rows.items()}
    ep: dict[str, list] = {"length": [], "env_return": [], "terminated": [], **{k: [] for k in signals}}
    for e in range(n_envs):
        start = 0
        for i in np.flatnonzero(rows["term"][e] | rows["trunc"][e]):
            ep["length"].append(i + 1 - start)
            ep["env_return"].append(float(rows["reward"][e, start : i + 1].sum()))
            ep["terminated"].append(bool(rows["term"][e, i]))
            for k in signals:
                ep[k].append(float(rows[k][e, start : i + 1].sum()))
            start = i + 1
    if not ep["length"]:
        raise TaskCheckError(
            f"task {task.name!r}: no random episode ended; raise n_steps to check the fitness"
        )
    fitness, _ = task.fitness({k: jnp.asarray(v) for k, v in ep.items()})
    return float(fitness)
