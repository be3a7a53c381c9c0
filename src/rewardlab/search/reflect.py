"""Reward reflection: the training statistics of a candidate, written for the LLM that improves it.

For the task score, the episode length, the return under the candidate's reward and every reward
component, the text lists the value at each checkpoint (averaged over seeds; components are the mean
over that interval's training transitions) followed by max / mean / min. Failed candidates are
summarised as their kind and message, so the next prompt can say what to avoid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rewardlab.runfolder import EvalRecord, training_curves
from rewardlab.search import prompts


def _fmt(x: float) -> str:
    return f"{x:.3g}" if math.isfinite(x) else "nan"


def series_line(name: str, values: Sequence[float]) -> str:
    finite = [v for v in values if math.isfinite(v)]
    stats = (
        f"max {_fmt(max(finite))}, mean {_fmt(sum(finite) / len(finite))}, min {_fmt(min(finite))}"
        if finite
        else "no finite values"
    )
    return f"{name}: [{', '.join(_fmt(v) for v in values)}]  {stats}"


def reflect(record: EvalRecord, n_checkpoints: int | None = None) -> str:
    """The reflection text of one trained candidate (empty if it has no training statistics)."""
    stats = training_curves(record.results)
    if not stats:
        return ""
    n = n_checkpoints or len(next(iter(stats.values())))
    body = "\n".join(series_line(k, v) for k, v in stats.items())
    return prompts.load("reflection").format(n_checkpoints=n, statistics=body)


def error_summary(record: EvalRecord) -> str | None:
    """One line saying why a candidate could not be used, or None if it trained."""
    if record.status == "ok":
        return None
    if record.status == "no_code":
        return f"no code: {record.candidate.extract_reason or record.message}"
    if record.status == "check_failed" and record.check is not None:
        line = f" (line {record.check.line})" if record.check.line else ""
        return f"check failed, {record.check.kind}{line}: {record.check.message}"
    if record.status == "pending":
        return f"not evaluated: {record.message}"
    return f"training failed: {record.message}"


def error_lines(records: Sequence[EvalRecord], limit: int = 6, width: int = 400) -> list[str]:
    """Distinct error lines of an iteration, at most `limit`, each cut to `width` characters."""
    out: list[str] = []
    for rec in records:
        line = error_summary(rec)
        if line is None:
            continue
        line = " ".join(line.split())
        line = line if len(line) <= width else line[: width - 3] + "..."
        if line not in out:
            out.append(line)
    return out[:limit]
