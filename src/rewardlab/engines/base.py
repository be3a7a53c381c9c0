"""The engine seam: what every training engine does, and the registry that finds one by name.

An engine trains a batch of reward callables x seeds on a task and returns one `TrainResult` per
(candidate, seed), candidate-major, each with ~`n_checkpoints` checkpoints (fitness from evaluation
episodes, every reward component's mean/min/max over the interval), `compile_seconds` and
`train_seconds`. A candidate that fails (does not trace, returns the wrong shapes, raises, diverges)
is a result with status `error` or `nan` and a message, never an exception: one bad candidate costs
the others nothing.

Engines are looked up by name (`get("ppo_jax")`), so a job file can name one and the sandboxed training
child can run it without importing the others. A task says which engine it trains on (`Task.engine`),
and its `ppo` field holds that engine's defaults; every engine reads the same `PPOConfig` (each documents
how its fields map onto its own implementation).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from rewardlab.config import PPOConfig
from rewardlab.types import RewardProgram, TrainResult

if TYPE_CHECKING:
    from rewardlab.rewards.program import RewardFn
    from rewardlab.tasks.base import Task


@dataclass(frozen=True)
class ProgressInfo:
    """Passed to the `progress` callback after every chunk of training (and at every checkpoint)."""

    env_steps: int  # per run
    total_steps: int  # per run
    checkpoint: int | None  # index of the checkpoint just recorded, if any
    best_fitness: float | None


Progress = Callable[[ProgressInfo], None]


class TrainFns(Protocol):
    def __call__(
        self,
        task: Task,
        named_fns: Sequence[tuple[str, RewardFn]],
        config: PPOConfig | None = None,
        seeds: Sequence[int] = (0,),
        progress: Progress | None = None,
    ) -> list[TrainResult]: ...


@dataclass(frozen=True)
class Engine:
    """A training engine: its name, what it trains, and its batch function.

    `train_fns(task, [(name, compute_reward), ...], config, seeds, progress)` is the contract the sandboxed
    training child calls with reward callables it loaded itself (restricted loader); `train` is the same for
    trusted `RewardProgram`s (built-in baselines, the user's own files) executed in this process.
    `config=None` means the task's own `ppo`.
    """

    name: str
    summary: str
    train_fns: TrainFns

    def train(
        self,
        task: Task,
        rewards: Sequence[RewardProgram],
        config: PPOConfig | None = None,
        seeds: Sequence[int] = (0,),
        progress: Progress | None = None,
    ) -> list[TrainResult]:
        from rewardlab.rewards.program import load_reward_fn

        named = [(prog.name, load_reward_fn(prog)) for prog in rewards]
        return self.train_fns(task, named, config, seeds, progress)


_MODULES = {
    "ppo_jax": "rewardlab.engines.ppo_jax",
    "sb3": "rewardlab.engines.sb3",
}
"""Engine name -> the module whose `ENGINE` attribute it is (imported on first use: torch is heavy)."""


def names() -> list[str]:
    return sorted(_MODULES)


def get(name: str) -> Engine:
    """The engine called `name`; an unknown name raises ValueError listing the known ones."""
    module = _MODULES.get(name)
    if module is None:
        raise ValueError(f"unknown engine {name!r}; known engines: {', '.join(names())}")
    engine = importlib.import_module(module).ENGINE
    assert isinstance(engine, Engine) and engine.name == name
    return engine
