"""The records of one candidate: what was proposed (`Candidate`), how it fared (`EvalRecord`), and the one
rule that gives it a status (`record`).

A candidate that failed (no code in the reply, a failed check, a training error) is an `EvalRecord`
with a status and a message, like a success; its fitness is None, never a sentinel number. A candidate
that has not reached its next step yet (a killed run) is `pending`, not a failure. The search and the
report both get statuses from `record`, so they cannot disagree.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from rewardlab.sandbox import CheckReport
from rewardlab.types import TrainResult

Status = Literal["ok", "pending", "no_code", "check_failed", "train_failed"]
STATUSES: tuple[str, ...] = get_args(Status)


def candidate_id(restart: int, iteration: int, index: int) -> str:
    return f"r{restart}-i{iteration}-c{index}"


def parse_candidate_id(cand_id: str) -> tuple[int, int, int]:
    """(restart, iteration, index) of an id made by `candidate_id`; ValueError for anything else."""
    parts = cand_id.split("-")
    ok = len(parts) == 3 and [p[:1] for p in parts] == ["r", "i", "c"] and all(p[1:].isdigit() for p in parts)
    if not ok:
        raise ValueError(f"not a candidate id: {cand_id!r}")
    r, i, c = (int(p[1:]) for p in parts)
    return r, i, c


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
        """`candidate.json` (the source and the reply are files of their own)."""
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

    @staticmethod
    def from_dict(
        meta: dict[str, Any], restart: int, iteration: int, index: int, source: str | None, response: str
    ) -> Candidate:
        """The candidate of `candidate.json` at (restart, iteration, index), with its files' contents."""
        return Candidate(
            restart=restart,
            iteration=iteration,
            index=index,
            source=source if meta.get("has_code") else None,
            origin=meta["origin"],
            parent=meta.get("parent"),
            response_text=response,
            extract_reason=meta.get("extract_reason"),
            note=meta.get("note", ""),
        )


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
        """The record's line in `iteration.json`."""
        return {
            "id": self.candidate.id,
            "status": self.status,
            "fitness": self.fitness,
            "message": self.message,
        }


def record(
    cand: Candidate, check_report: CheckReport | None, results: Sequence[TrainResult] | None
) -> EvalRecord:
    """The one record of a candidate, from whatever steps it reached (None: that step has not run)."""
    if cand.source is None:
        return EvalRecord(cand, "no_code", message=cand.extract_reason or "no code in the reply")
    if check_report is None:
        return EvalRecord(cand, "pending", message="not checked yet")
    if not check_report.ok:
        msg = f"{check_report.kind}: {check_report.message}" if check_report.kind else check_report.message
        return EvalRecord(cand, "check_failed", check=check_report, message=msg)
    if results is None:
        return EvalRecord(cand, "pending", check=check_report, message="not trained yet")
    results = tuple(results)
    if not results:
        return EvalRecord(cand, "train_failed", check=check_report, message="training returned no result")
    bad = [r for r in results if r.status != "ok" or not math.isfinite(r.max_fitness)]
    if bad:
        r = bad[0]
        if r.status == "ok":
            msg = f"seed {r.seed}: no finite fitness at any checkpoint"
        else:
            msg = f"{r.status}: {r.message}" if r.message else f"status {r.status}"
        return EvalRecord(cand, "train_failed", check=check_report, results=results, message=msg)
    # a run that successive halving stopped says so (its fitness is that of a shorter training)
    stopped = next((r.message for r in results if r.extra.get("halved_at") is not None), "")
    return EvalRecord(cand, "ok", check=check_report, results=results, message=stopped)


def canonical_source(source: str) -> str:
    """A canonical text of a program (comments and formatting dropped): for deduplicating candidates and
    for diffs between a program and its re-printed mutation."""
    try:
        return ast.unparse(ast.parse(source))
    except SyntaxError:
        return source


def training_curves(results: Sequence[TrainResult]) -> dict[str, list[float]]:
    """Named per-checkpoint series, averaged over seeds: task_score, episode_length, reward_return, then
    `component NAME` (the component's mean over that interval's training transitions) for each component.
    What reflection shows an LLM and what the report plots."""
    results = [r for r in results if r.checkpoints]
    if not results:
        return {}
    out = {
        "task_score": _mean_over_seeds(results, lambda c: c.fitness),
        "episode_length": _mean_over_seeds(results, lambda c: c.episode_length),
        "reward_return": _mean_over_seeds(results, lambda c: c.reward_return),
    }
    names = sorted({k for r in results for c in r.checkpoints for k in c.components})
    for name in names:
        out[f"component {name}"] = _mean_over_seeds(
            results, lambda c, n=name: c.components[n].mean if n in c.components else math.nan
        )
    return out


def _mean_over_seeds(results: Sequence[TrainResult], get: Callable[[Any], float]) -> list[float]:
    n = min(len(r.checkpoints) for r in results)
    out = []
    for k in range(n):
        vals = [get(r.checkpoints[k]) for r in results]
        out.append(sum(vals) / len(vals))
    return out
