"""Reading and writing the run folder's records: the only code that knows which record is in which file
and in what format. Everything is written atomically (`io`), and a candidate's `candidate.json` last,
so a candidate with that file is complete."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from rewardlab.runfolder.io import (
    RunFolderError,
    read_json,
    read_text,
    read_yaml,
    write_json_atomic,
    write_text_atomic,
)
from rewardlab.runfolder.layout import Layout
from rewardlab.runfolder.records import Candidate, EvalRecord, record
from rewardlab.runfolder.stages import Confirmation, FinalResults, IterationRecord
from rewardlab.sandbox import CheckReport
from rewardlab.tasks.ref import TaskRef
from rewardlab.types import TrainResult

T = TypeVar("T")


def config_hint(layout: Layout) -> str:
    return (
        f"restore it (run.json in {layout.root} records the command that started the run), "
        "or start a new search"
    )


def redo_hint(layout: Layout, what: str = "it") -> str:
    """What to do about a damaged record that the search can write again."""
    return f"delete {what} and run `rewardlab resume {layout.root}`: the step that wrote it is done again"


def parse_record(path: Path, what: str, build: Callable[[Any], T], hint: str) -> T:
    """`build(json of path)`, with any malformed content reported as a RunFolderError naming the file."""
    data = read_json(path, hint)
    try:
        return build(data)
    except RunFolderError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise RunFolderError(
            path, f"does not hold a valid {what} ({type(exc).__name__}: {str(exc)[:200]})", hint
        ) from None


# --- the run ---------------------------------------------------------------------------------------------


def read_config(layout: Layout) -> dict[str, Any]:
    """`config.yaml` as a dict (the search turns it into its config)."""
    data = read_yaml(layout.config, config_hint(layout))
    if not isinstance(data, dict):
        raise RunFolderError(
            layout.config, f"does not hold a mapping of settings (found {type(data).__name__})",
            config_hint(layout),
        )
    return data


def write_task_ref(layout: Layout, ref: TaskRef) -> None:
    write_json_atomic(layout.task, ref.to_dict())


def read_task_ref(layout: Layout) -> TaskRef | None:
    """The run's task reference; None for run folders made before task references existed."""
    if not layout.task.exists():
        return None
    hint = f"restore it, or delete it and the task is found again by the name in {layout.config.name}"
    return parse_record(layout.task, "task reference", TaskRef.from_dict, hint)


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
    hint = redo_hint(layout, f"the folder {paths.folder}")
    try:
        source, response = read_text(paths.reward), read_text(paths.response) or ""
    except (OSError, ValueError):
        problem = "has a reward.py or response.txt that cannot be read"
        raise RunFolderError(paths.folder, problem, hint) from None
    return parse_record(
        paths.meta,
        "candidate record",
        lambda meta: Candidate.from_dict(meta, restart, iteration, index, source, response),
        hint,
    )


def write_check(layout: Layout, cand: Candidate, report: CheckReport) -> None:
    write_json_atomic(layout.candidate(cand.restart, cand.iteration, cand.index).check, report.to_dict())


def read_check(layout: Layout, cand: Candidate) -> CheckReport | None:
    path = layout.candidate(cand.restart, cand.iteration, cand.index).check
    if not path.exists():
        return None
    return parse_record(path, "check report", CheckReport.from_dict, redo_hint(layout))


def write_results(layout: Layout, cand: Candidate, results: Sequence[TrainResult]) -> None:
    path = layout.candidate(cand.restart, cand.iteration, cand.index).result
    write_json_atomic(path, {"results": [r.to_dict() for r in results]})


def read_results(layout: Layout, cand: Candidate) -> tuple[TrainResult, ...] | None:
    """The candidate's training runs (one per seed), or None if it has not been trained."""
    path = layout.candidate(cand.restart, cand.iteration, cand.index).result
    if not path.exists():
        return None
    return parse_record(
        path, "training result", lambda data: tuple(TrainResult.from_dict(d) for d in data["results"]),
        redo_hint(layout),
    )


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
    if not path.exists():
        return None
    return parse_record(
        path, "iteration record", lambda data: IterationRecord.from_dict(data, restart, iteration),
        redo_hint(layout),
    )


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
    if not path.exists():
        return None
    return parse_record(path, "confirmation record", Confirmation.from_dict, redo_hint(layout))


def write_final(layout: Layout, final: FinalResults) -> None:
    write_json_atomic(layout.final_results, final.to_dict())


def read_final(layout: Layout) -> FinalResults | None:
    if not layout.final_results.exists():
        return None
    return parse_record(layout.final_results, "final evaluation", FinalResults.from_dict, redo_hint(layout))


def write_final_partial(layout: Layout, partial: FinalResults) -> None:
    """`final/partial.json`: the final evaluation's rows trained so far, so that a killed run does not
    train them again (the same record as `results.json`, which replaces it when every row is in)."""
    write_json_atomic(layout.final_partial, partial.to_dict())


def read_final_partial(layout: Layout) -> FinalResults | None:
    if not layout.final_partial.exists():
        return None
    path = layout.final_partial
    return parse_record(path, "final evaluation (partial)", FinalResults.from_dict, redo_hint(layout))


def write_method(layout: Layout, source: str) -> None:
    """`final/method.py`: the winner's code, for reading and for retraining it elsewhere."""
    write_text_atomic(layout.final_method, source)


def verify(layout: Layout, restarts: int, iterations: int) -> None:
    """Read every record of the folder once, so that a damaged file is reported (RunFolderError) before
    a resumed run changes anything, rather than halfway through it."""
    for r in range(restarts):
        for i in range(iterations):
            if layout.iteration_dir(r, i).is_dir():
                read_records(layout, r, i)
                read_iteration(layout, r, i)
        read_confirmation(layout, r)
    read_final(layout)
    read_final_partial(layout)
    read_task_ref(layout)
