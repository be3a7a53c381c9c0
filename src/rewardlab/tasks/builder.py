"""`from_gymnax`: a rewardlab task from any gymnax-API environment, in a few lines.

    from rewardlab.tasks import from_gymnax

    def make_task():
        return from_gymnax(
            ReachEnv(), name="reach", description="Move the arm's tip onto the target.",
            fitness="success", success=lambda s: s.dist < 0.05,
        )

and then `rewardlab search reach.py:make_task`. Everything else has a default: the human reward is the
environment's own reward, the sparse reward is the fitness signal, the state documentation is read from
the state dataclass (annotations and trailing comments), PPO settings follow the action space and the
episode length, and the task is checked with `check_task` before it is returned.
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import dataclasses
import inspect
import math
import textwrap
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

from rewardlab.config import PPOConfig
from rewardlab.tasks.adapter import ActionSpec, EnvAdapter, as_adapter, state_fields
from rewardlab.tasks.base import EpisodeSignals, FitnessFn, Task
from rewardlab.types import RewardProgram

FITNESS_KINDS = ("return", "success", "length", "-length")

ENV_REWARD_SOURCE = '''\
def compute_reward(state, action, next_state, env_reward):
    """The environment's own reward, exactly as its step function returns it."""
    env = 1.0 * env_reward
    total = env
    return total, {"env": env}
'''
"""The default human baseline. The weight is spelled out so that a search can re-weight the term."""

ALIVE_SOURCE = '''\
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    """{sign}1 on every step: the episode-length fitness used as a reward."""
    step = jnp.float32({value})
    return step, {{"{name}": step}}
'''

_SKIP = contextvars.ContextVar("rewardlab_skip_task_checks", default=False)
_CHECKED: dict[int, Task] = {}


@contextlib.contextmanager
def checks_skipped() -> Iterator[None]:
    """Inside this block `from_gymnax` does not run `check_task` (children load tasks a parent checked)."""
    token = _SKIP.set(True)
    try:
        yield
    finally:
        _SKIP.reset(token)


def mark_checked(task: Task) -> None:
    _CHECKED[id(task)] = task  # the value keeps the task alive, so its id is never reused


def was_checked(task: Task) -> bool:
    return _CHECKED.get(id(task)) is task


def from_gymnax(
    env: Any,
    params: Any = None,
    *,
    name: str,
    description: str,
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
    check: bool = True,
) -> Task:
    """Build (and check) a `Task` from a gymnax-API environment (or an `EnvAdapter`).

    fitness: how a trained policy is judged from greedy evaluation episodes (never the searched reward):
        "return"   mean episode return of the environment's own reward;
        "success"  fraction of episodes that reach a state where `success(state)` holds (pass `success`);
        "length" / "-length"   mean episode length, to maximise / to minimise;
        a callable `(episodes) -> (fitness, metrics)` over per-episode arrays (`length`, `env_return`,
        `terminated` and the sum of each of `signals(state, action, next_state, terminated)`); give
        `fitness_doc` to say what it means.
    human: the designer's reward to beat. Default: the environment's own reward (components {"env": r}).
        A RewardProgram, the source text of a reward program, or the path of a `.py` file.
    sparse: the fitness signal as a reward. Default: the success indicator for "success", the
        environment's reward for "return" (and for a callable fitness), +1 / -1 per step for the lengths.
    state_doc: {field: explanation}; default: the state dataclass's annotations and trailing comments.
    ppo: a PPOConfig, or overrides of the defaults chosen from the action space and episode length.
    search_timesteps: steps per candidate in a search; default a quarter of `ppo.total_timesteps`.
        Pick a budget at which the human reward has not reached the fitness ceiling (measure it with
        `rewardlab train TASK --reward human --steps N` at two or three budgets), or a search has
        nothing to improve.
    context: text shown to an LLM instead of the environment's source with the reward removed (for
        environments whose reward the transform cannot find).
    check: run `check_task` and raise `TaskCheckError` naming the failed check.
    """
    adapter = as_adapter(env, params)
    spec = adapter.action_spec
    limit = adapter.max_episode_steps
    ep_signals, fit_fn, doc, default_sparse = _fitness(fitness, success, signals, fitness_doc, name)
    config = _ppo(ppo, spec, limit)
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
        state_doc=dict(state_doc) if state_doc is not None else default_state_doc(adapter),
        action_doc=action_doc or default_action_doc(spec),
        solve_env_return=solve_env_return,
        fitness_range=fitness_range if fitness_range is not None else _default_range(fitness, limit),
        search_timesteps=search_timesteps or _default_search_budget(config),
        context_text=context,
    )
    if check and not _SKIP.get():
        from rewardlab.tasks.check import check_task

        check_task(task)
        mark_checked(task)
    return task


# --- fitness ---------------------------------------------------------------------------------------------


def _mean(x: jax.Array) -> jax.Array:
    return jnp.mean(jnp.asarray(x, jnp.float32))


def _no_signals(state: Any, action: Any, next_state: Any, terminated: Any) -> dict[str, jax.Array]:
    return {}


def _fitness(
    fitness: str | FitnessFn,
    success: Callable[[Any], Any] | None,
    signals: EpisodeSignals | None,
    fitness_doc: str | None,
    name: str,
) -> tuple[EpisodeSignals, FitnessFn, str, RewardProgram]:
    """(episode signals, fitness function, its description, the default sparse reward)."""
    if callable(fitness):
        if not fitness_doc:
            raise ValueError("a callable fitness needs fitness_doc: say in words what the number measures")
        return signals or _no_signals, fitness, fitness_doc, _env_reward(name, "sparse")
    if fitness not in FITNESS_KINDS:
        raise ValueError(f"fitness must be one of {', '.join(FITNESS_KINDS)} or a callable, got {fitness!r}")
    if fitness == "success":
        if success is None:
            raise ValueError('fitness="success" needs success=fn(state) -> bool')
        return _success_fitness(success, fitness_doc, name)
    if success is not None:
        raise ValueError(f'success= is only used with fitness="success" (fitness is {fitness!r})')
    if fitness == "return":

        def by_return(ep: Mapping[str, jax.Array]) -> tuple[jax.Array, dict[str, jax.Array]]:
            ret = _mean(ep["env_return"])
            return ret, {"env_return": ret, "episode_length": _mean(ep["length"])}

        doc = fitness_doc or "mean return per evaluation episode under the environment's own reward"
        return signals or _no_signals, by_return, doc, _env_reward(name, "sparse")
    sign = 1.0 if fitness == "length" else -1.0

    def by_length(ep: Mapping[str, jax.Array]) -> tuple[jax.Array, dict[str, jax.Array]]:
        length = _mean(ep["length"])
        return sign * length, {"episode_length": length}

    doc = fitness_doc or (
        "mean evaluation episode length in steps (longer is better)"
        if sign > 0
        else "minus the mean evaluation episode length in steps (shorter episodes are better)"
    )
    sparse = RewardProgram(
        f"{name}:sparse",
        ALIVE_SOURCE.format(sign="+" if sign > 0 else "-", value=sign, name="alive" if sign > 0 else "step"),
        "sparse",
    )
    return signals or _no_signals, by_length, doc, sparse


def _success_fitness(
    success: Callable[[Any], Any], fitness_doc: str | None, name: str
) -> tuple[EpisodeSignals, FitnessFn, str, RewardProgram]:
    def succeeded(state: Any) -> jax.Array:
        return jnp.reshape(jnp.asarray(success(state)), ()).astype(jnp.float32)

    def success_signals(state: Any, action: Any, next_state: Any, terminated: Any) -> dict[str, jax.Array]:
        return {"success_steps": succeeded(next_state)}

    def by_success(ep: Mapping[str, jax.Array]) -> tuple[jax.Array, dict[str, jax.Array]]:
        hit = (ep["success_steps"] > 0).astype(jnp.float32)
        rate = jnp.mean(hit)
        return rate, {"success_rate": rate, "episode_length": _mean(ep["length"])}

    def sparse_reward(state: Any, action: Any, next_state: Any) -> tuple[jax.Array, dict[str, jax.Array]]:
        hit = succeeded(next_state)
        return hit, {"success": hit}

    label = _describe_callable(success)
    doc = fitness_doc or f"fraction of evaluation episodes that reach a success state ({label}) (0-1)"
    source = (
        f"# The sparse baseline of task {name!r}, built by rewardlab.tasks.from_gymnax: 1.0 on every step\n"
        f"# whose next_state satisfies the task's success predicate {label}, else 0.0; components\n"
        '# {"success": the same value}. It is the task\'s own code, so it is shown here, not as source.\n'
    )
    sparse = RewardProgram(f"{name}:sparse", source, "sparse", fn=sparse_reward)
    return success_signals, by_success, doc, sparse


def _describe_callable(fn: Callable[..., Any]) -> str:
    qual = getattr(fn, "__qualname__", type(fn).__name__)
    if getattr(fn, "__name__", "") == "<lambda>":  # also `make_task.<locals>.<lambda>`
        try:
            text = inspect.getsource(fn).strip()
            lam = text[text.index("lambda"):]
            return "`" + lam.rstrip(",) ")[:120] + "`"
        except (OSError, TypeError, ValueError):
            return "(a lambda)"
    module = getattr(fn, "__module__", "") or ""
    return f"`{qual}`" + (f" in {module}" if module and not module.startswith("rewardlab_user_") else "")


def _default_range(fitness: str | FitnessFn, limit: int) -> tuple[float, float] | None:
    if fitness == "success":
        return (0.0, 1.0)
    if fitness == "length":
        return (0.0, float(limit))
    if fitness == "-length":
        return (-float(limit), 0.0)
    return None


# --- rewards ---------------------------------------------------------------------------------------------


def _env_reward(name: str, kind: str) -> RewardProgram:
    return RewardProgram(f"{name}:{kind}", ENV_REWARD_SOURCE, kind)


def _program(value: str | Path | RewardProgram, name: str, kind: str) -> RewardProgram:
    """A baseline given as a RewardProgram, a `.py` path, or source text."""
    if isinstance(value, RewardProgram):
        return dataclasses.replace(value, name=f"{name}:{kind}", origin=kind)
    text = str(value)
    if isinstance(value, Path) or (text.endswith(".py") and "\n" not in text):
        from rewardlab.rewards.program import read_program

        return dataclasses.replace(read_program(text), name=f"{name}:{kind}", origin=kind)
    if "compute_reward" not in text:
        raise ValueError(f"{kind} must be a reward program defining compute_reward, or the path of one")
    return RewardProgram(f"{name}:{kind}", textwrap.dedent(text).strip() + "\n", kind)


# --- documentation --------------------------------------------------------------------------------------


def default_state_doc(adapter: EnvAdapter) -> dict[str, str]:
    """{field: annotation, and the trailing comment when the source has one} for every state field."""
    _, state = jax.eval_shape(adapter.reset, jax.random.PRNGKey(0))
    fields = state_fields(state)
    notes = _field_notes(type(state))
    return {f: notes.get(f) or _shape_note(getattr(state, f)) for f in fields}


def _field_notes(cls: type) -> dict[str, str]:
    """Annotation + trailing comment of each field declared in `cls` or its bases (nearest class wins)."""
    notes: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        try:
            lines, _ = inspect.getsourcelines(klass)
        except (OSError, TypeError):
            continue
        source = textwrap.dedent("".join(lines))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        src_lines = source.splitlines()
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for stmt in body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                line = src_lines[stmt.lineno - 1]
                comment = line.split("#", 1)[1].strip() if "#" in line else ""
                note = ast.unparse(stmt.annotation)
                notes[stmt.target.id] = f"{note}: {comment}" if comment else note
    return notes


def _shape_note(leaf: Any) -> str:
    shape = getattr(leaf, "shape", None)
    dtype = getattr(leaf, "dtype", None)
    return f"array of shape {tuple(shape)}, {dtype}" if shape is not None else type(leaf).__name__


def default_action_doc(spec: ActionSpec) -> str:
    if spec.discrete:
        return f"int: one of {spec.n} discrete actions, 0 to {spec.n - 1}"
    low = [float(x) for x in jnp.ravel(spec.low)] if spec.low is not None else []
    high = [float(x) for x in jnp.ravel(spec.high)] if spec.high is not None else []
    bounds = (
        f"in [{low[0]:g}, {high[0]:g}]" if low and len(set(low)) == 1 and len(set(high)) == 1
        else f"between {low} and {high}"
    )
    return f"float array of shape ({spec.n},), each entry {bounds} (clipped before the reward sees it)"


# --- PPO defaults ----------------------------------------------------------------------------------------


def _ppo(ppo: PPOConfig | Mapping[str, Any] | None, spec: ActionSpec, limit: int) -> PPOConfig:
    """PPO settings that suit the action space and the episode length, with the user's overrides.

    The discount keeps an effective horizon of about a fifth of the episode (gamma = 1 - 5 / limit,
    within [0.95, 0.995]); observations and rewards are normalised because a user's environment has
    arbitrary scales; continuous control gets wide batches, 10 epochs of 8 minibatches and no entropy
    bonus (on examples/reacher.py at 143k steps, 64 envs x 32 steps with 10 epochs took the env reward
    from 0.22 to 0.34 success and a shaped reward from 0.33 to 0.83, against 32 x 64 with 5 epochs).
    """
    if isinstance(ppo, PPOConfig):
        return ppo
    gamma = round(min(0.995, max(0.95, 1.0 - 5.0 / max(limit, 1))), 4)
    if spec.discrete:
        base = dict(num_envs=16, num_steps=64, update_epochs=4, num_minibatches=4, lr=2.5e-3, ent_coef=0.01)
    else:
        base = dict(num_envs=64, num_steps=32, update_epochs=10, num_minibatches=8, lr=1e-3, ent_coef=0.0)
    default = PPOConfig(
        total_timesteps=200_000, gamma=gamma, normalize_obs=True, normalize_reward=True, **base
    )
    return dataclasses.replace(default, **dict(ppo or {}))


def _default_search_budget(config: PPOConfig) -> int:
    quarter = config.total_timesteps // 4
    step = config.batch_size * config.n_checkpoints
    return max(step, math.ceil(quarter / step) * step)
