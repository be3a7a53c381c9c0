"""Frozen records of the search: what was proposed, how it was judged, what an iteration chose.

A candidate that failed (no code in the reply, a failed check, a training error) is an `EvalRecord`
with a status and a message, like a success; its fitness is None, never a sentinel number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from rewardlab.sandbox import CheckReport
from rewardlab.types import TrainResult

Status = Literal["ok", "no_code", "check_failed", "train_failed"]


@dataclass(frozen=True)
class Candidate:
    """One proposed reward program. `source` is None when the reply held no usable code."""

    restart: int
    iteration: int
    index: int
    source: str | None
    origin: str  # llm | mutation | human | file
    parent: str | None = None  # id of the program it was derived from
    response_text: str = ""
    extract_reason: str | None = None
    note: str = ""  # what the proposer did (e.g. "scaled angle_penalty weight 1.0 -> 1.7")

    @property
    def id(self) -> str:
        return candidate_id(self.restart, self.iteration, self.index)

    def to_dict(self) -> dict[str, Any]:
        return {
            "restart": self.restart,
            "iteration": self.iteration,
            "index": self.index,
            "origin": self.origin,
            "parent": self.parent,
            "extract_reason": self.extract_reason,
            "note": self.note,
            "has_code": self.source is not None,
        }


def candidate_id(restart: int, iteration: int, index: int) -> str:
    return f"r{restart}-i{iteration}-c{index}"


@dataclass(frozen=True)
class EvalRecord:
    """How one candidate fared: its check, its training runs (one per seed) and its fitness."""

    candidate: Candidate
    status: Status
    check: CheckReport | None = None
    results: tuple[TrainResult, ...] = ()
    message: str = ""

    @property
    def fitness(self) -> float | None:
        """Mean over seeds of the max-over-checkpoints fitness; None unless every seed trained."""
        if self.status != "ok" or not self.results:
            return None
        vals = [r.max_fitness for r in self.results]
        if not all(math.isfinite(v) for v in vals):
            return None
        return sum(vals) / len(vals)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.candidate.id,
            "status": self.status,
            "fitness": self.fitness,
            "message": self.message,
        }


@dataclass(frozen=True)
class IterationOutcome:
    """An iteration's records and the best program after it (which may come from an earlier iteration)."""

    restart: int
    iteration: int
    records: tuple[EvalRecord, ...]
    best: EvalRecord | None
    reflection: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
