"""Reading and writing the run folder's records: the only code that knows which record is in which file
and in what format. Everything is written atomically (`io`), and a candidate's `candidate.json` last,
so a candidate with that file is complete."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rewardlab.runfolder.io import read_json, read_text, read_yaml, write_json_atomic, write_text_atomic
from rewardlab.runfolder.layout import Layout
from rewardlab.runfolder.records import Candidate, EvalRecord, record
from rewardlab.runfolder.stages import Confirmation, FinalResults, IterationRecord
from rewardlab.sandbox import CheckReport
from rewardlab.tasks.ref import TaskRef
from rewardlab.types import TrainResult

# --- the run ---------------------------------------------------------------------------------------------


def read_config(layout: Layout) -> dict[str, Any]:
    """`config.yaml` as a dict (the search turns it into its config)."""
    return read_yaml(layout.config)


def write_task_ref(layout: Layout, ref: TaskRef) -> None:
    write_json_atomic(layout.task, ref.to_dict())


def read_task_ref(layout: Layout) -> TaskRef | None:
    """The run's task reference; None for run folders made before task references existed."""
    return TaskRef.from_dict(read_json(layout.task)) if layout.task.exists() else None


# --- candidates ------------------------------------------------------------------------------------------


def write_candidate(layout: Layout, cand: Candidate, prompt: Any | None) -> None:
    """The candidate's files; `candidate.json` last, so its presence means the rest is there."""
    paths = layout.candidate(cand.restart, cand.iteration, cand.index)
    if prompt is not None:
        write_json_atomic(paths.prompt, prompt)
    if cand.response_text:
        write_text_atomic(paths.response, cand.response_text)
    if cand.source is not None:
        write_text_atomic(paths.reward, cand.source)
    write_json_atomic(paths.meta, cand.to_dict())


def read_candidate(layout: Layout, restart: int, iteration: int, index: int) -> Candidate | None:
    """The stored candidate, or None if it was never completely written."""
    paths = layout.candidate(restart, iteration, index)
    if not paths.meta.exists():
        return None
    source, response = read_text(paths.reward), read_text(paths.response) or ""
    return Candidate.from_dict(read_json(paths.meta), restart, iteration, index, source, response)


def write_check(layout: Layout, cand: Candidate, report: CheckReport) -> None:
    write_json_atomic(layout.candidate(cand.restart, cand.iteration, cand.index).check, report.to_dict())


def read_check(layout: Layout, cand: Candidate) -> CheckReport | None:
    path = layout.candidate(cand.restart, cand.iteration, cand.index).check
    return CheckReport.from_dict(read_json(path)) if path.exists() else None


def write_results(layout: Layout, cand: Candidate, results: Sequence[TrainResult]) -> None:
    path = layout.candidate(cand.restart, cand.iteration, cand.index).result
    write_json_atomic(path, {"results": [r.to_dict() for r in results]})


def read_results(layout: Layout, cand: Candidate) -> tuple[TrainResult, ...] | None:
    """The candidate's training runs (one per seed), or None if it has not been trained."""
    path = layout.candidate(cand.restart, cand.iteration, cand.index).result
    if not path.exists():
        return None
    return tuple(TrainResult.from_dict(d) for d in read_json(path)["results"])


def read_record(layout: Layout, restart: int, iteration: int, index: int) -> EvalRecord | None:
    """The candidate's record as far as it got (status from `records.record`); None if not proposed."""
    cand = read_candidate(layout, restart, iteration, index)
    if cand is None:
        return None
    if cand.source is None:
        return record(cand, None, None)
    return record(cand, read_check(layout, cand), read_results(layout, cand))


def read_records(layout: Layout, restart: int, iteration: int) -> list[EvalRecord]:
    """Every completely proposed candidate of an iteration, in index order."""
    recs = (read_record(layout, restart, iteration, j) for j in layout.candidate_indices(restart, iteration))
    return [r for r in recs if r is not None]


def write_feedback(layout: Layout, cand: Candidate, text: str) -> None:
    path = layout.candidate(cand.restart, cand.iteration, cand.index).feedback
    write_text_atomic(path, text.rstrip("\n") + "\n")


def has_feedback(layout: Layout, cand: Candidate) -> bool:
    return layout.candidate(cand.restart, cand.iteration, cand.index).feedback.exists()


# --- iterations, confirmation, final ---------------------------------------------------------------------


def write_iteration(layout: Layout, rec: IterationRecord) -> None:
    write_json_atomic(layout.iteration(rec.restart, rec.iteration), rec.to_dict())


def read_iteration(layout: Layout, restart: int, iteration: int) -> IterationRecord | None:
    """The iteration's record, or None if the iteration has not completed."""
    path = layout.iteration(restart, iteration)
    return IterationRecord.from_dict(read_json(path), restart, iteration) if path.exists() else None


def write_comment(layout: Layout, restart: int, iteration: int, text: str) -> None:
    write_text_atomic(layout.comment(restart, iteration), text.strip() + "\n")


def read_comment(layout: Layout, restart: int, iteration: int) -> str | None:
    """A person's stored comment ("" if they gave none), or None if they were not asked yet."""
    text = read_text(layout.comment(restart, iteration))
    return text.strip() if text is not None else None


def write_confirmation(layout: Layout, conf: Confirmation) -> None:
    write_json_atomic(layout.confirm(conf.restart), conf.to_dict())


def read_confirmation(layout: Layout, restart: int) -> Confirmation | None:
    path = layout.confirm(restart)
    return Confirmation.from_dict(read_json(path)) if path.exists() else None


def write_final(layout: Layout, final: FinalResults) -> None:
    write_json_atomic(layout.final_results, final.to_dict())


def read_final(layout: Layout) -> FinalResults | None:
    return FinalResults.from_dict(read_json(layout.final_results)) if layout.final_results.exists() else None


def write_method(layout: Layout, source: str) -> None:
    """`final/method.py`: the winner's code, for reading and for retraining it elsewhere."""
    write_text_atomic(layout.final_method, source)
