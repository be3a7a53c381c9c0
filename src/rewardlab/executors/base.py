"""The evaluator seam: what the search hands over for training, and what it gets back.

The search (iterations, confirmation, final evaluation) never trains anything itself: it builds
`Batch`es of reward programs × seeds and hands them to an `Evaluator`, which returns one `BatchOutcome`
per batch as each finishes. Where the training runs (a sandboxed child on this machine, or the same
sandboxed child inside a Ray task on a cluster node) is the evaluator's business; the records that
come back are the same, so the run folder on the driver stays the single source of truth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from rewardlab.config import PPOConfig
from rewardlab.engines.halving import Halving
from rewardlab.types import RewardProgram, TrainResult

if TYPE_CHECKING:  # importing tasks loads JAX, which a driver that only schedules batches never needs
    from rewardlab.tasks.ref import TaskRef


class ExecutorUnavailable(RuntimeError):
    """The chosen executor cannot run (Ray not installed, cluster unreachable); one line that says why."""


@dataclass(frozen=True)
class Batch:
    """Reward programs trained together in one compiled program, each on every seed.

    `timeout_s` bounds each sandboxed child (the batch, then each solo retry); `jax_cache_dir` is the
    compilation cache of a local worker (a remote worker keeps its own); `warm_start` a saved training
    state (`engines.warm_start`) every run starts from (its bytes travel to a remote worker); `halving`
    the rungs of successive halving inside the batch (`engines.halving`; None: every run to the end).
    """

    ref: TaskRef
    programs: tuple[RewardProgram, ...]
    config: PPOConfig
    seeds: tuple[int, ...]
    timeout_s: float | None
    jax_cache_dir: str | None = None
    warm_start: str | None = None
    halving: Halving | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.programs)


@dataclass(frozen=True)
class BatchOutcome:
    """A batch's results (candidate-major, one per program and seed) and the node that trained them."""

    results: tuple[TrainResult, ...]
    node: str


class Evaluator(Protocol):
    """Trains batches; `run` yields `(index into batches, outcome)` as each batch finishes.

    Batches handed over in one call are independent, so an evaluator may train them at the same time
    and in any order; the caller records each outcome as it arrives, so a run killed midway keeps every
    batch that finished. `on_event` receives the sandbox's `WorkerEvent`s where the evaluator can see
    them (a local worker's progress lines; a remote one reports start and finish per batch); `on_start(i)`
is called when batch `i` starts (locally) or is handed to the cluster (remotely).
    """

    name: str

    def run(
        self,
        batches: Sequence[Batch],
        on_event: Callable[[Any], None] | None = None,
        on_start: Callable[[int], None] | None = None,
    ) -> Iterator[tuple[int, BatchOutcome]]: ...

    def close(self) -> None: ...
