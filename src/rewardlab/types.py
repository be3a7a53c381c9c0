"""Frozen records passed between the stages of rewardlab.

A failed run is a record with a status and a message that flows on like a success: there are no
sentinel fitness values and no parallel lists that could fall out of step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

RunStatus = Literal["ok", "nan", "error"]


@dataclass(frozen=True)
class RewardProgram:
    """A reward function as source text: `compute_reward(state, action, next_state) -> (total, components)`.

    Programs are kept as text (not callables) because they are shown to LLMs, written to run
    folders, diffed between iterations and loaded in child processes. The one exception is a task's
    own baseline that only exists as a callable (e.g. a success indicator built from the user's
    predicate): `fn` holds it, `source` describes it, and a child process that imports the task takes
    the callable from the task again (`origin` says which baseline: human or sparse).
    """

    name: str
    source: str
    origin: str = "user"  # human | sparse | llm | mutation | file | user
    fn: Callable[..., Any] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ComponentStats:
    """Mean / min / max of one reward component over the training transitions of one checkpoint interval."""

    mean: float
    min: float
    max: float


@dataclass(frozen=True)
class Checkpoint:
    """What a run looked like after `step` environment steps.

    `fitness` is the task's ground-truth score from greedy evaluation rollouts; `reward_return`
    is the episode return under the candidate's own reward (training episodes), `env_return` the
    return under the environment's native reward, kept so results compare with other libraries.
    """

    step: int
    fitness: float
    eval_metrics: dict[str, float]
    reward_return: float
    env_return: float
    episode_length: float
    components: dict[str, ComponentStats]
    seconds: float = 0.0  # training wall time up to this checkpoint (compile and evaluation excluded)


@dataclass(frozen=True)
class TrainResult:
    """One training run: a reward candidate trained with one seed."""

    candidate: str
    seed: int
    status: RunStatus
    checkpoints: tuple[Checkpoint, ...]
    env_steps: int
    train_seconds: float
    compile_seconds: float
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def max_fitness(self) -> float:
        """Best fitness over checkpoints (the Eureka paper's metric); NaN if there is no checkpoint."""
        vals = [c.fitness for c in self.checkpoints if math.isfinite(c.fitness)]
        return max(vals) if vals else math.nan

    @property
    def final_fitness(self) -> float:
        return self.checkpoints[-1].fitness if self.checkpoints else math.nan

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> TrainResult:
        cps = tuple(
            Checkpoint(
                **{
                    **c,
                    "components": {k: ComponentStats(**v) for k, v in c["components"].items()},
                }
            )
            for c in data["checkpoints"]
        )
        return TrainResult(**{**data, "checkpoints": cps})
