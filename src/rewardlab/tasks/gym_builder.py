"""`from_gymnasium`: a rewardlab task from a Gymnasium environment (trained by the `sb3` engine).

    from rewardlab.tasks import from_gymnasium

    def make_task():
        return from_gymnasium(
            "Hopper-v5", name="hopper", description="Hop forward without falling.",
            state={"qpos": "env.data.qpos", "qvel": "env.data.qvel", "x_velocity": "info.x_velocity"},
            fitness="return",
        )

The same arguments as `from_gymnax` (fitness, success, signals, human, sparse, state_doc, ppo, ...) mean the
same things; what differs is the environment (an id for `gymnasium.make`, or a zero-argument factory
returning a `gymnasium.Env`) and `state`, the mapping from each step's observation, `info` and
`env.unwrapped` attributes to the named record that reward programs read (see
`rewardlab.tasks.gym_adapter`). Default: one field `obs`, the whole observation.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rewardlab.config import PPOConfig
from rewardlab.tasks.adapter import ActionSpec
from rewardlab.tasks.base import EpisodeSignals, FitnessFn, Task
from rewardlab.tasks.builder import (
    _SKIP,
    _default_range,
    _env_reward,
    _fitness,
    _program,
    default_action_doc,
    mark_checked,
)
from rewardlab.tasks.gym_adapter import GymnasiumAdapter, GymTaskError, StateSource
from rewardlab.types import RewardProgram

ENGINE = "sb3"


def from_gymnasium(
    env: str | Callable[[], Any],
    *,
    name: str | None = None,
    description: str,
    state: Mapping[str, StateSource] | None = None,
    fitness: str | FitnessFn = "return",
    success: Callable[[Any], Any] | None = None,
    signals: EpisodeSignals | None = None,
    fitness_doc: str | None = None,
    fitness_range: tuple[float, float] | None = None,
    state_doc: Mapping[str, str] | None = None,
    action_doc: str | None = None,
    human: str | Path | RewardProgram | None = None,
    sparse: str | Path | RewardProgram | None = None,
    ppo: PPOConfig | Mapping[str, Any] | None = None,
    search_timesteps: int | None = None,
    context: str | None = None,
    solve_env_return: float | None = None,
    max_episode_steps: int | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    check: bool = True,
) -> Task:
    """Build (and check) a `Task` on the `sb3` engine from a Gymnasium environment.

    env: a registered id (`"Hopper-v5"`, made with `gymnasium.make(id, **env_kwargs)`) or a zero-argument
        callable (a class works) that returns a `gymnasium.Env`; the engine calls it once per vector-env
        slot and per evaluation episode.
    state: {field: source}, sources `"obs"`, `"obs[i]"`, `"obs[i:j]"`, `"info.KEY"`, `"env.ATTR.PATH"` (on
        `env.unwrapped`), `"time"` (steps since the reset) or a callable `(obs, info, env) -> array`.
        Default `{"obs": "obs"}`.
    max_episode_steps: the episode limit, for environments registered without one (required then).
    Everything else as in `rewardlab.tasks.from_gymnax`; `human` defaults to the environment's own
    reward (`env_reward`, the fourth parameter of a reward program).
    """
    make, label = _factory(env, env_kwargs)
    adapter = GymnasiumAdapter(make, state, label=label, max_episode_steps=max_episode_steps)
    name = name or label
    spec = adapter.action_spec
    limit = adapter.max_episode_steps
    ep_signals, fit_fn, doc, default_sparse = _fitness(fitness, success, signals, fitness_doc, name)
    config = sb3_ppo(ppo, spec, limit)
    task = Task(
        name=name,
        description=textwrap.dedent(description).strip(),
        make_env=lambda: adapter,
        ppo=config,
        human=_program(human, name, "human") if human is not None else _env_reward(name, "human"),
        sparse=_program(sparse, name, "sparse") if sparse is not None else default_sparse,
        episode_signals=ep_signals,
        fitness=fit_fn,
        fitness_doc=doc,
        state_doc=dict(state_doc) if state_doc is not None else adapter.field_docs(),
        action_doc=action_doc or default_action_doc(spec),
        solve_env_return=solve_env_return,
        fitness_range=fitness_range if fitness_range is not None else _default_range(fitness, limit),
        search_timesteps=search_timesteps or _search_budget(config),
        context_text=context,
        engine=ENGINE,
    )
    if check and not _SKIP.get():
        from rewardlab.tasks.check import check_task

        check_task(task)
        mark_checked(task)
    return task


def _factory(
    env: str | Callable[[], Any], env_kwargs: Mapping[str, Any] | None
) -> tuple[Callable[[], Any], str]:
    """(zero-argument factory, label) for an id or a callable."""
    kwargs = dict(env_kwargs or {})
    if isinstance(env, str):
        env_id = env.strip()
        check_env_id(env_id)
        return functools.partial(_make_registered, env_id, kwargs), env_id
    if callable(env):
        label = getattr(env, "__name__", type(env).__name__)
        return (functools.partial(env, **kwargs) if kwargs else env), label
    raise GymTaskError(
        "from_gymnasium needs an environment id or a factory returning a gymnasium.Env, "
        f"got {type(env).__name__}"
    )


def _make_registered(env_id: str, kwargs: dict[str, Any]) -> Any:
    import gymnasium

    return gymnasium.make(env_id, **kwargs)


def check_env_id(env_id: str) -> None:
    """Raise GymTaskError (with the closest registered ids) unless Gymnasium knows `env_id`."""
    import gymnasium

    known = list(gymnasium.registry)
    if env_id in known:
        return
    close = difflib.get_close_matches(env_id, known, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else "; see gymnasium.pprint_registry()"
    raise GymTaskError(f"unknown Gymnasium environment {env_id!r}{hint}")


def sb3_ppo(ppo: PPOConfig | Mapping[str, Any] | None, spec: ActionSpec, limit: int) -> PPOConfig:
    """Defaults for the `sb3` engine (close to SB3's own and rl-zoo's), with the user's overrides.

    Discrete actions: 8 envs x 64 steps, 10 epochs of 4 minibatches, lr 1e-3 (rl-zoo's CartPole family).
    Continuous control: 8 envs x 256 steps, 10 epochs of 8 minibatches, lr 3e-4 and normalised observations
    and rewards (SB3's MuJoCo settings at a CPU-sized batch). The discount follows the episode limit as in
    `from_gymnax` (an effective horizon of about a fifth of the episode, within [0.95, 0.995]).
    """
    if isinstance(ppo, PPOConfig):
        return ppo
    gamma = round(min(0.995, max(0.95, 1.0 - 5.0 / max(limit, 1))), 4)
    if spec.discrete:
        base = dict(num_envs=8, num_steps=64, update_epochs=10, num_minibatches=4, lr=1e-3, ent_coef=0.0,
                    normalize_obs=False, normalize_reward=False, total_timesteps=100_000)
    else:
        base = dict(num_envs=8, num_steps=256, update_epochs=10, num_minibatches=8, lr=3e-4, ent_coef=0.0,
                    normalize_obs=True, normalize_reward=True, total_timesteps=200_000)
    return dataclasses.replace(PPOConfig(gamma=gamma, **base), **dict(ppo or {}))


def _search_budget(config: PPOConfig) -> int:
    quarter = config.total_timesteps // 4
    step = config.batch_size * config.n_checkpoints
    return max(step, math.ceil(quarter / step) * step)
