"""Selection: the best valid candidate of an iteration and of everything before it.

The best so far is never lost: it competes with the new candidates. Ties go to the earlier candidate
(lower restart, iteration, index), so the choice does not depend on dictionary or thread order.
"""

from __future__ import annotations

from collections.abc import Iterable

from rewardlab.runfolder import EvalRecord


def _key(rec: EvalRecord) -> tuple[float, int, int, int]:
    c = rec.candidate
    return (-(rec.fitness if rec.fitness is not None else float("-inf")), c.restart, c.iteration, c.index)


def select(records: Iterable[EvalRecord], previous_best: EvalRecord | None = None) -> EvalRecord | None:
    """The record with the highest fitness among `records` and `previous_best`; None if none trained."""
    pool = [r for r in records if r.fitness is not None]
    if previous_best is not None and previous_best.fitness is not None:
        pool.append(previous_best)
    return min(pool, key=_key) if pool else None


def ranked(records: Iterable[EvalRecord]) -> list[EvalRecord]:
    """Valid records, best first, with the same tie-break as `select`."""
    return sorted((r for r in records if r.fitness is not None), key=_key)
