"""`LocalEvaluator`: today's sandboxed worker on this machine, one batch after another."""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardlab.executors.base import Batch, BatchOutcome
from rewardlab.sandbox import train_in_worker
from rewardlab.sandbox.resident import ResidentWorker


@dataclass
class LocalEvaluator:
    """Trains each batch in a sandboxed child under `run_dir` (the run folder), in order.

    One batch at a time because a batch's compiled program already uses the machine's cores; the
    outcome of each batch is yielded before the next starts, so the caller can record it at once.

    With `resident` (the default, when there is a `run_dir`) the batches go to one long-lived sandboxed
    child (`sandbox.resident`) that keeps the engine's compiled programs between batches, so a later
    batch compiles only its reward; `close()` ends it. `resident=False`: a fresh child per batch.
    """

    run_dir: Path | None = None
    name: str = "local"
    resident: bool = True
    _worker: ResidentWorker | None = field(default=None, init=False, repr=False)

    def run(
        self,
        batches: Sequence[Batch],
        on_event: Callable[[Any], None] | None = None,
        on_start: Callable[[int], None] | None = None,
    ) -> Iterator[tuple[int, BatchOutcome]]:
        node = platform.node() or "local"
        if self.resident and self.run_dir is not None and self._worker is None:
            self._worker = ResidentWorker(Path(self.run_dir) / "worker")
        for i, batch in enumerate(batches):
            if on_start is not None:
                on_start(i)
            results = train_in_worker(
                batch.ref,
                list(batch.programs),
                batch.config,
                list(batch.seeds),
                run_dir=self.run_dir,
                timeout_s=batch.timeout_s,
                jax_cache_dir=batch.jax_cache_dir,
                on_event=on_event,
                resident=self._worker,
                warm_start=batch.warm_start,
                halving=batch.halving,
            )
            yield i, BatchOutcome(tuple(results), node)

    def close(self) -> None:
        """End the resident child, if one is running (one-shot children are gone with their batch)."""
        if self._worker is not None:
            self._worker.close()
            self._worker = None
