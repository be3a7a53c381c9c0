"""`check_task`: what every registered task must satisfy, run over the whole registry in CI.

In the spirit of Gymnasium's `check_env`: a task added by a user gets the same checks as the built-in
ones, and each failure says which promise of the Task contract is broken.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from rewardlab.config import PPOConfig
from rewardlab.rewards.program import load_reward_fn
from rewardlab.tasks.base import Task
from rewardlab.tasks.rollout import random_transitions


class TaskCheckError(AssertionError):
    """A task breaks the Task contract; the message names the task and the broken promise."""


def _fail(task: Task, msg: str) -> TaskCheckError:
    return TaskCheckError(f"task {task.name!r}: {msg}")


def check_task(task: Task, n_envs: int = 8, n_steps: int = 1000) -> None:
    """Raise TaskCheckError if `task` breaks the contract; return None if it passes.

    Checks: text fields are filled in; the environment has pure reset/step and a discrete or box
    action space; `state_doc` documents exactly the state's fields; the human and sparse programs
    load and return a finite scalar total and a dict of finite scalar components on random
    transitions (terminal ones included); the fitness of random-policy episodes is finite and
    inside `fitness_range`.
    """
    for field in ("name", "description", "fitness_doc", "action_doc"):
        if not str(getattr(task, field)).strip():
            raise _fail(task, f"{field} is empty")
    if not isinstance(task.ppo, PPOConfig):
        raise _fail(task, "ppo must be a PPOConfig")

    env, params = task.make_env()
    for method in ("reset_env", "step_env", "is_truncated", "action_space", "observation_space"):
        if not callable(getattr(env, method, None)):
            raise _fail(task, f"environment has no {method}()")
    space = env.action_space(params)
    if not hasattr(space, "n") and not (hasattr(space, "low") and hasattr(space, "high")):
        raise _fail(task, f"action space must be discrete or a box, got {type(space).__name__}")

    _, state = env.reset_env(jax.random.PRNGKey(0), params)
    fields = {f.name for f in dataclasses.fields(state)}
    documented = set(task.state_doc)
    if fields != documented:
        raise _fail(
            task,
            f"state_doc must document exactly the state fields; missing {sorted(fields - documented)}, "
            f"unknown {sorted(documented - fields)}",
        )

    tr = random_transitions(task, n_envs, n_steps)
    for program in (task.human, task.sparse):
        fn = load_reward_fn(program)
        try:
            total, comps = jax.jit(jax.vmap(fn))(tr.state, tr.action, tr.next_state)
        except Exception as exc:
            raise _fail(task, f"{program.origin} reward fails on random transitions: {exc}") from exc
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
