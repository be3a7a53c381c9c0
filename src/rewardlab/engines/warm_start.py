"""Saved training states of the JAX PPO engine, and warm starts from them (Eureka's curriculum recipe).

Eureka's pen spinning trained a policy with one reward and fine-tuned it under another. Here a training
can save each run's final state, and a later training can start every run from such a state:

* saved: the policy and value networks (`params`), the optimiser state (Adam's moments and step count)
  and the observation-normalisation statistics: what continued training needs. Not the environments (a
  warm start begins new episodes), not the return-normalisation statistics (a new reward has another
  scale; they are re-estimated from the first rollout) and not the learning-rate schedule's step: the new
  training's schedule, step counter and checkpoints start at 0 for its own budget;
* one file per (reward, seed): `numpy.savez` of the flattened leaves plus a JSON header (format version,
  task, observation and action shapes, the network settings that must match, the reward and steps it was
  trained with, its final fitness). Loading uses `allow_pickle=False`: a file from elsewhere is data and
  can never run code. Loading only reads, so it works in the sandboxed training child too;
* a warm start is checked before anything trains (`WarmStart.check`): another task, other observation or
  action shapes, other network settings, or a damaged or foreign file are one `WarmStartError` line.

The engine replaces the initial runner's leaves after its (shared, cached) init program has run, so a warm
start compiles nothing new.
"""

from __future__ import annotations

import json
import math
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from rewardlab.config import PPOConfig
from rewardlab.tasks.base import Task

FORMAT = "rewardlab-ppo-state"
VERSION = 1
SUFFIX = ".policy.npz"
HEADER_KEY = "header"
NETWORK_FIELDS = ("torso", "hidden", "conv", "conv_stride", "activation", "normalize_obs")
"""PPOConfig fields a warm start must share with the saved run: they shape the networks or what they see."""
_DTYPES = ("float32", "int32", "uint32")


class WarmStartError(ValueError):
    """A policy file that cannot start this training (wrong task or shapes, damaged, foreign)."""


class TrainState(NamedTuple):
    """The part of one run's `ppo_jax.Runner` that a continued training needs."""

    params: Any
    opt_state: Any
    obs_stats: Any


def policy_filename(candidate: str, seed: int) -> str:
    """`<reward>_seed<seed>.policy.npz`, with characters unsafe in a file name replaced by `_`."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", candidate).strip("._") or "reward"
    return f"{safe}_seed{seed}{SUFFIX}"


# --- leaves by name -----------------------------------------------------------------------------------


def _key_name(entry: Any) -> str:
    for attr in ("key", "name", "idx"):
        if hasattr(entry, attr):
            return str(getattr(entry, attr))
    return str(entry)


def _is_schedule(x: Any) -> bool:
    return isinstance(x, optax.ScaleByScheduleState)


def named_leaves(state: TrainState) -> Iterator[tuple[str, Any, bool]]:
    """(name, leaf, restored) for every leaf in `jax.tree.leaves(state)` order, with names such as
    `params/actor/w0` or `opt_state/1/0/mu/actor/w0`.

    `restored` is False for the learning-rate schedule's step count, which a warm start resets to 0 so
    that the new budget's schedule starts from the configured rate (restored, an annealed run's count
    would leave a learning rate of zero).
    """
    for field in TrainState._fields:
        part = getattr(state, field)
        pairs = jax.tree_util.tree_flatten_with_path(part)[0]
        skip = [False] * len(pairs)
        if field == "opt_state":
            mask = jax.tree.map(
                lambda x: x._replace(count=True) if _is_schedule(x) else False, part, is_leaf=_is_schedule
            )
            skip = jax.tree.leaves(mask)
        assert len(skip) == len(pairs)
        for (path, leaf), s in zip(pairs, skip, strict=True):
            yield "/".join([field, *(_key_name(p) for p in path)]), leaf, not s


# --- the file -----------------------------------------------------------------------------------------


def save(
    path: str | Path,
    state: TrainState,
    task: Task,
    cfg: PPOConfig,
    *,
    reward: str,
    seed: int,
    env_steps: int,
    final_fitness: float,
    previous: WarmStart | None = None,
) -> Path:
    """Write one run's state (numpy leaves without the run axis) and its header; atomic (temp + rename).

    `previous` is the warm start this run began from: its curriculum (the rewards and steps trained
    before) is carried on, so a file says everything its policy was trained with.
    """
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    leaves = []
    for name, leaf, restored in named_leaves(state):
        if not restored:
            continue
        arr = np.asarray(leaf)
        arrays[f"leaf_{len(leaves):03d}"] = arr
        leaves.append({"name": name, "shape": list(arr.shape), "dtype": str(arr.dtype)})
    stage = {"reward": reward, "seed": int(seed), "env_steps": int(env_steps)}
    curriculum = [*(previous.header["curriculum"] if previous is not None else []), stage]
    header = {
        "format": FORMAT,
        "version": VERSION,
        "engine": "ppo_jax",
        "task": task.name,
        **_shapes(task),
        "network": _network(cfg),
        "reward": reward,
        "seed": int(seed),
        "env_steps": int(env_steps),
        "total_env_steps": sum(s["env_steps"] for s in curriculum),
        "curriculum": curriculum,
        "final_fitness": final_fitness if math.isfinite(final_fitness) else None,
        "final_eval_index": cfg.n_checkpoints - 1,
        "config": _jsonable(asdict(cfg)),
        "leaves": leaves,
    }
    arrays[HEADER_KEY] = np.frombuffer(json.dumps(header).encode("utf-8"), np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, path)
    return path


def _shapes(task: Task) -> dict[str, Any]:
    spec = task.env.action_spec
    return {
        "obs_shape": [int(d) for d in task.env.obs_shape],
        "action": {"discrete": bool(spec.discrete), "n": int(spec.n)},
    }


def _network(cfg: PPOConfig) -> dict[str, Any]:
    return _jsonable({f: getattr(cfg, f) for f in NETWORK_FIELDS})


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


@dataclass(frozen=True)
class WarmStart:
    """A saved training state, loaded and validated as a file; `check` it against a task and config."""

    path: str
    header: dict[str, Any]
    arrays: dict[str, np.ndarray]  # leaf name -> array (one run, no run axis)

    @staticmethod
    def load(path: str | Path) -> WarmStart:
        """Read a policy file; anything but a complete file of this format is a `WarmStartError`."""
        p = Path(path)
        if p.is_dir():
            found = sorted(x.name for x in p.glob(f"*{SUFFIX}"))
            hint = f": {', '.join(found[:6])}" if found else f" (it has no *{SUFFIX} file)"
            raise WarmStartError(f"--warm-start {p} is a folder; name one policy file in it{hint}")
        if not p.is_file():
            raise WarmStartError(f"no policy file at {p}")
        try:
            with np.load(p, allow_pickle=False) as data:
                raw = {k: np.asarray(data[k]) for k in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            raise WarmStartError(f"{p} is not a rewardlab policy file ({reason})") from None
        header = _read_header(p, raw.pop(HEADER_KEY, None))
        arrays: dict[str, np.ndarray] = {}
        for i, leaf in enumerate(header["leaves"]):
            arr = raw.get(f"leaf_{i:03d}")
            name = leaf.get("name") if isinstance(leaf, dict) else None
            if arr is None or not isinstance(name, str):
                raise WarmStartError(f"{p} is damaged: leaf {i} ({name}) is missing")
            if list(arr.shape) != list(leaf.get("shape", [])) or str(arr.dtype) != leaf.get("dtype"):
                raise WarmStartError(
                    f"{p} is damaged: leaf {name} is {arr.dtype}{list(arr.shape)}, its header says "
                    f"{leaf.get('dtype')}{leaf.get('shape')}"
                )
            if str(arr.dtype) not in _DTYPES:
                raise WarmStartError(f"{p}: leaf {name} has dtype {arr.dtype}, not one of {_DTYPES}")
            if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
                raise WarmStartError(f"{p}: leaf {name} holds non-finite values")
            arrays[name] = arr
        return WarmStart(str(p), header, arrays)

    @staticmethod
    def for_task(path: str | Path, task: Task, cfg: PPOConfig) -> WarmStart:
        """`load` and `check` for a training of `task` with `cfg`: the one check every entry point runs
        before anything trains (`WarmStartError`, also for a task on an engine without warm starts)."""
        if task.engine != "ppo_jax":
            raise WarmStartError(f"--warm-start is not supported with engine {task.engine} ({task.name})")
        warm = WarmStart.load(path)
        warm.check(task, cfg)
        return warm

    @property
    def final_fitness(self) -> float:
        value = self.header.get("final_fitness")
        return float(value) if value is not None else math.nan

    def check(self, task: Task, cfg: PPOConfig) -> None:
        """Raise `WarmStartError` unless this state fits `task` trained with `cfg` (before anything runs)."""
        h = self.header
        where = f"the policy in {self.path}"
        if h["task"] != task.name:
            raise WarmStartError(f"{where} was trained on task {h['task']}, not {task.name}")
        shapes = _shapes(task)
        if h.get("obs_shape") != shapes["obs_shape"]:
            raise WarmStartError(
                f"{where} sees observations of shape {h.get('obs_shape')}; {task.name}'s are "
                f"{shapes['obs_shape']}"
            )
        if h.get("action") != shapes["action"]:
            raise WarmStartError(f"{where} has actions {h.get('action')}; {task.name} has {shapes['action']}")
        saved, now = h.get("network", {}), _network(cfg)
        diff = [f"{k}={saved.get(k)!r} (now {now[k]!r})" for k in NETWORK_FIELDS if saved.get(k) != now[k]]
        if diff:
            raise WarmStartError(
                f"{where} was trained with other network settings: {', '.join(diff)}; "
                "train with the same ones (--set NAME=VALUE)"
            )

    def state(self, template: TrainState) -> TrainState:
        """The saved leaves in the structure of `template` (one run's state, arrays or shape structures),
        as numpy; learning-rate schedule counts are 0. Raises `WarmStartError` if the file lacks a leaf, has
        one of another shape or dtype, or has leaves the template does not."""
        names = set()
        out = []
        for name, leaf, restored in named_leaves(template):
            if not restored:
                out.append(np.zeros(leaf.shape, leaf.dtype))
                continue
            names.add(name)
            arr = self.arrays.get(name)
            if arr is None:
                raise WarmStartError(f"the policy in {self.path} has no {name}: another network saved it")
            if arr.shape != tuple(leaf.shape) or arr.dtype != np.dtype(leaf.dtype):
                raise WarmStartError(
                    f"the policy in {self.path} has {name} as {arr.dtype}{list(arr.shape)}; this training "
                    f"needs {np.dtype(leaf.dtype)}{list(leaf.shape)}"
                )
            out.append(arr)
        extra = sorted(set(self.arrays) - names)
        if extra:
            raise WarmStartError(f"the policy in {self.path} has leaves this training does not: {extra[:4]}")
        return jax.tree.unflatten(jax.tree.structure(template), out)

    def describe(self) -> str:
        """One line: what the policy was trained with, for the command line."""
        h = self.header
        stages = " then ".join(f"{s['reward']} ({s['env_steps']:,} steps)" for s in h["curriculum"])
        fit = "" if h.get("final_fitness") is None else f", final fitness {h['final_fitness']:.4g}"
        return f"{Path(self.path).name}: {h['task']} trained with {stages}, seed {h['seed']}{fit}"


def _read_header(p: Path, raw: np.ndarray | None) -> dict[str, Any]:
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
        raise WarmStartError(f"{p} is not a rewardlab policy file (no header)")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WarmStartError(f"{p} is damaged: its header is not JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise WarmStartError(f"{p} is not a rewardlab policy file (format {header.get('format')!r})"
                             if isinstance(header, dict) else f"{p} is not a rewardlab policy file")
    if header.get("version") != VERSION:
        raise WarmStartError(
            f"{p} has format version {header.get('version')}; this rewardlab reads version {VERSION}"
        )
    if header.get("engine") != "ppo_jax":
        raise WarmStartError(f"{p} was saved by engine {header.get('engine')!r}; only ppo_jax states load")
    required = ("task", "obs_shape", "action", "network", "leaves", "curriculum", "seed")
    missing = [k for k in required if k not in header]
    if missing or not isinstance(header["leaves"], list) or not isinstance(header["curriculum"], list):
        raise WarmStartError(f"{p} is damaged: its header lacks {missing or ['a list of leaves']}")
    return header


# --- the engine's side --------------------------------------------------------------------------------


def run_state(runner: Any, i: int) -> TrainState:
    """Run `i`'s state from a batched runner (`ppo_jax.Runner`), as numpy (indexed on the host: indexing
    the device arrays would compile a small program per leaf shape)."""
    tree = TrainState(runner.params, runner.opt_state, runner.obs_stats)
    return jax.tree.map(lambda x: np.asarray(x)[i], tree)


def apply(runner: Any, warm: WarmStart) -> Any:
    """The batched runner with every run's params, optimiser state and observation statistics replaced by
    the saved ones (on the host: no new program). Environments, keys and return statistics stay fresh."""
    n = int(jax.tree.leaves(runner.params)[0].shape[0])
    template = run_state(runner, 0)
    state = warm.state(template)
    batched = jax.tree.map(lambda x: jnp.asarray(np.broadcast_to(x, (n, *x.shape))), state)
    return runner._replace(params=batched.params, opt_state=batched.opt_state, obs_stats=batched.obs_stats)


def final_eval_index(warm: WarmStart) -> int:
    """Which checkpoint's evaluation episodes the saved run last played (its last checkpoint's)."""
    return int(warm.header.get("final_eval_index", 0))
