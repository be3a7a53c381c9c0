"""Records of the steps after evaluation: an iteration's selection (`iteration.json`), a restart's
confirmation (`confirm.json`) and the final evaluation (`final/results.json`).

Each is written once, when its step is complete, so its presence is what tells a resumed run the step
is done. `from_dict` accepts the files of older run folders (fields added later take their default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from rewardlab.runfolder.records import EvalRecord
from rewardlab.types import TrainResult


@dataclass(frozen=True)
class Verdict:
    """A candidate's status as an iteration recorded it."""

    id: str
    status: str
    fitness: float | None
    message: str = ""

    @staticmethod
    def of(rec: EvalRecord) -> Verdict:
        return Verdict(rec.candidate.id, rec.status, rec.fitness, rec.message)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "fitness": self.fitness, "message": self.message}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Verdict:
        return Verdict(data["id"], data["status"], _num(data.get("fitness")), data.get("message", ""))


@dataclass(frozen=True)
class IterationRecord:
    """What an iteration chose: the best program after it (possibly from an earlier iteration), its
    reflection, the errors fed to the next prompt and a person's comment (feedback=human)."""

    restart: int
    iteration: int
    candidates: tuple[Verdict, ...] = ()
    best: str | None = None
    best_fitness: float | None = None
    reflection: str = ""
    errors: tuple[str, ...] = ()
    comment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "restart": self.restart,
            "iteration": self.iteration,
            "candidates": [v.to_dict() for v in self.candidates],
            "best": self.best,
            "best_fitness": self.best_fitness,
            "reflection": self.reflection,
            "errors": list(self.errors),
            "comment": self.comment,
        }

    @staticmethod
    def from_dict(data: dict[str, Any], restart: int, iteration: int) -> IterationRecord:
        return IterationRecord(
            restart=int(data.get("restart", restart)),
            iteration=int(data.get("iteration", iteration)),
            candidates=tuple(Verdict.from_dict(v) for v in data.get("candidates", ())),
            best=data.get("best"),
            best_fitness=_num(data.get("best_fitness")),
            reflection=data.get("reflection", ""),
            errors=tuple(data.get("errors", ())),
            comment=data.get("comment"),
        )


@dataclass(frozen=True)
class ConfirmRow:
    """One shortlisted candidate retrained on the confirmation seeds."""

    id: str
    origin: str
    search_fitness: float | None
    confirm_fitness: float | None  # mean over the confirmation seeds; None if any run failed
    per_seed: tuple[float | None, ...] = ()
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "origin": self.origin,
            "search_fitness": self.search_fitness,
            "confirm_fitness": self.confirm_fitness,
            "per_seed": list(self.per_seed),
            "message": self.message,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> ConfirmRow:
        return ConfirmRow(
            id=data["id"],
            origin=data.get("origin", ""),
            search_fitness=_num(data.get("search_fitness")),
            confirm_fitness=_num(data.get("confirm_fitness")),
            per_seed=tuple(_num(v) for v in data.get("per_seed", ())),
            message=data.get("message", ""),
        )


@dataclass(frozen=True)
class Confirmation:
    """A restart's shortlist retrained on fresh seeds, and the winner (best mean on those seeds)."""

    restart: int
    seeds: tuple[int, ...]
    candidates: tuple[ConfirmRow, ...]
    winner: str | None

    def row(self, cand_id: str) -> ConfirmRow | None:
        return next((r for r in self.candidates if r.id == cand_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "restart": self.restart,
            "seeds": list(self.seeds),
            "candidates": [r.to_dict() for r in self.candidates],
            "winner": self.winner,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Confirmation:
        return Confirmation(
            restart=int(data["restart"]),
            seeds=tuple(int(s) for s in data["seeds"]),
            candidates=tuple(ConfirmRow.from_dict(r) for r in data["candidates"]),
            winner=data.get("winner"),
        )


@dataclass(frozen=True)
class MethodInfo:
    """Which candidate the final evaluation retrained as "method", and its earlier scores."""

    candidate: str
    search_fitness: float | None
    confirm_fitness: float | None = None
    same_as_human: bool = False
    """The winner is the task's human reward, unchanged (the same code up to formatting and comments): the
    search found nothing better, and any gap between their rows is training noise."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate,
            "search_fitness": self.search_fitness,
            "confirm_fitness": self.confirm_fitness,
            "same_as_human": self.same_as_human,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> MethodInfo:
        return MethodInfo(
            data["candidate"],
            _num(data.get("search_fitness")),
            _num(data.get("confirm_fitness")),
            bool(data.get("same_as_human", False)),
        )


@dataclass(frozen=True)
class FinalResults:
    """The winner ("method"), the human and sparse baselines and any host baselines (keyed by their
    `--baseline` spec), trained on the same fresh seeds. Also the record of `final/partial.json`, which
    holds the rows trained so far."""

    seeds: tuple[int, ...]
    method: MethodInfo | None
    results: dict[str, tuple[TrainResult, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seeds": list(self.seeds),
            "method": self.method.to_dict() if self.method else None,
            "results": {name: [r.to_dict() for r in rs] for name, rs in self.results.items()},
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> FinalResults:
        method = data.get("method")
        return FinalResults(
            seeds=tuple(int(s) for s in data["seeds"]),
            method=MethodInfo.from_dict(method) if method else None,
            results={
                name: tuple(TrainResult.from_dict(d) for d in dicts)
                for name, dicts in data["results"].items()
            },
        )


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) else None
