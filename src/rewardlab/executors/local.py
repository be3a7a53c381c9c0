"""`LocalEvaluator`: today's sandboxed worker on this machine, one batch after another."""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewardlab.executors.base import Batch, BatchOutcome
from rewardlab.sandbox import train_in_worker


@dataclass
class LocalEvaluator:
    """Trains each batch in a sandboxed child under `run_dir` (the run folder), in order.

    One batch at a time because a batch's compiled program already uses the machine's cores; the
    outcome of each batch is yielded before the next starts, so the caller can record it at once.
    """

    run_dir: Path | None = None
    name: str = "local"

    def run(
        self,
        batches: Sequence[Batch],
        on_event: Callable[[Any], None] | None = None,
        on_start: Callable[[int], None] | None = None,
    ) -> Iterator[tuple[int, BatchOutcome]]:
        node = platform.node() or "local"
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
            )
            yield i, BatchOutcome(tuple(results), node)

    def close(self) -> None:
        """Nothing to release: each batch's child is gone when its results are back."""
