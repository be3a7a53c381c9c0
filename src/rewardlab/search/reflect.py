"""Reward reflection: the training statistics of a candidate, written for the LLM that improves it.

For the task score, the episode length, the return under the candidate's reward and every reward
component, the text lists the value at each checkpoint (averaged over seeds; components are the mean
over that interval's training transitions) followed by max / mean / min. Failed candidates are
summarised as their kind and message, so the next prompt can say what to avoid.

With `reflection="table"` the next prompt also gets a row for every candidate of the last iteration
(`candidate_table`): one reward's curves cannot tell the LLM which of its other attempts did worse, and
without them an iteration that improved nothing would be followed by the same question again. Terms that
have the same value on every step (`fixed_terms`) are named so the advice to drop a flat component does
not hit a deliberate per-step cost such as -1 per step, which is what encodes speed.
"""

from __future__ import annotations

import ast
import math
import re
import statistics
from collections.abc import Sequence

from rewardlab.runfolder import EvalRecord, canonical_source, training_curves
from rewardlab.search import prompts

START_ORIGINS = ("human", "file")
"""Origins of a starting reward (`--init`) trained unchanged as candidate 0 of iteration 0."""


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
    share = halved_share(record)
    if share is not None:  # the curves end early: not a training that plateaued or finished
        body += (
            f"\nNote: successive halving stopped this reward's training at {share:.0%} of the budget "
            f"(after {len(next(iter(stats.values())))} checkpoints); these curves end there, they are not "
            "a finished training."
        )
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


def is_start(record: EvalRecord) -> bool:
    """Whether `record` is the starting reward itself (not a change of it)."""
    return record.candidate.origin in START_ORIGINS and record.candidate.iteration == 0


def halved_share(record: EvalRecord) -> float | None:
    """The share of the training budget a candidate got when successive halving stopped it (None: it
    trained to the end, or is not trained)."""
    for r in record.results:
        at, budget = r.extra.get("halved_at"), r.extra.get("budget_steps")
        if at is not None and budget:
            return float(at) / float(budget)
    return None


def halved_status(record: EvalRecord) -> str:
    """A halved candidate's status for tables ("stopped at 20% by halving"), else its record's status."""
    share = halved_share(record)
    return record.status if share is None else f"stopped at {share:.0%} by halving"


def score_text(record: EvalRecord) -> str:
    """Mean ± sample standard deviation of the per-seed scores ("-" when it has no score), so the LLM
    can tell a real difference from seed noise; a candidate stopped by successive halving says so, as
    its score is that of a shorter training."""
    if record.fitness is None:
        return "-"
    vals = [r.max_fitness for r in record.results]
    share = halved_share(record)
    short = "" if share is None else f", training stopped at {share:.0%} of the budget by halving"
    if len(vals) < 2:
        return f"{_fmt(record.fitness)} (1 seed{short})"
    return f"{_fmt(record.fitness)} ± {_fmt(statistics.stdev(vals))} ({len(vals)} seeds{short})"


def error_kind(record: EvalRecord) -> str:
    """A short name for why a candidate failed ("" when it trained)."""
    if record.status == "ok":
        return ""
    if record.status == "no_code":
        return "no code"
    if record.status == "check_failed":
        return (record.check.kind if record.check is not None else "") or "check"
    if record.status == "pending":
        return "not evaluated"
    head = record.message.split(":", 1)[0].strip()
    return head if head and len(head) <= 30 and ":" in record.message else "training"


def component_names(source: str | None) -> list[str] | None:
    """The literal keys of the component dictionaries `compute_reward` returns (None if unreadable)."""
    if not source:
        return None
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and len(node.value.elts) == 2:
            comps = node.value.elts[1]
            keys = comps.keys if isinstance(comps, ast.Dict) else []
            for key in keys:
                if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value not in names:
                    names.append(key.value)
    return names


_CHANGES = re.compile(
    r"^(?:the |my |what i )?(?:changes?|changed|modifications?|new design|what changed)\b"
    r"\s*(?:\([^)]*\))?\s*:?\s*(.*)$",
    re.IGNORECASE,
)
_BOLD_LINE = re.compile(r"^\*\*[^*]+\*\*\s*:?$")


def _prose_lines(text: str | None) -> list[tuple[str, bool]]:
    """(line, is a heading) for the reply's lines before its first code fence, without Markdown list
    marks, emphasis or code ticks. A heading is a `#` line, a line in bold alone, a line ending in ':'
    (it announces a list rather than saying anything: "Reading the statistics:") or a few words with no
    full stop followed by more prose ("Analysis", "Component by component")."""
    raws = [r.strip() for r in (text or "").split("```", 1)[0].splitlines() if r.strip()]
    out = []
    for k, raw in enumerate(raws):
        line = re.sub(r"^(?:[#>*\-]+|\d+[.)])\s*", "", raw).replace("**", "").replace("`", "")
        line = " ".join(line.split())
        if not line:
            continue
        heading = (
            raw.startswith("#")
            or bool(_BOLD_LINE.match(raw))
            or line.endswith(":")
            or (len(line.split()) <= 4 and not line.endswith((".", "!", "?")) and k + 1 < len(raws))
        )
        out.append((line, heading))
    return out


def _own_words(text: str | None, width: int = 90) -> str:
    """What the LLM says it changed, in one line cut to `width` characters: the first sentence under a
    "Changes" heading when the reply has one, else its first line of prose that is not a heading."""
    lines = _prose_lines(text)
    start = 0
    for i, (line, _) in enumerate(lines):
        match = _CHANGES.match(line)
        if match:
            rest = match.group(1).strip()
            lines[i] = (rest, not rest or rest.endswith(":"))
            start = i
            break
    for line, heading in lines[start:]:
        if not heading:
            return line if len(line) <= width else line[: width - 3] + "..."
    return ""


def change_summary(record: EvalRecord, parent_source: str | None) -> str:
    """One line: what `record` changed with respect to the reward it was asked to improve."""
    cand = record.candidate
    if is_start(record):
        return "the starting reward, unchanged"
    if cand.origin == "mutation":
        return cand.note
    if cand.source is None:
        return "no code"
    if parent_source is None:
        diff = "written from scratch"
    elif canonical_source(cand.source) == canonical_source(parent_source):
        diff = "identical to it"
    else:
        diff = _term_diff(component_names(parent_source), component_names(cand.source))
    words = _own_words(cand.response_text)
    return f"{diff}; {words}" if words else diff


def _term_diff(before: list[str] | None, after: list[str] | None) -> str:
    if before is None or after is None:
        return "rewritten"
    added = [n for n in after if n not in before]
    dropped = [n for n in before if n not in after]
    parts = [f"adds {', '.join(added)}"] if added else []
    parts += [f"drops {', '.join(dropped)}"] if dropped else []
    return "; ".join(parts) if parts else "same terms, changed code"


def table_row(record: EvalRecord, parent_source: str | None) -> str:
    cells = [
        record.candidate.id,
        change_summary(record, parent_source),
        score_text(record),
        halved_status(record),
        error_kind(record),
    ]
    return "| " + " | ".join(" ".join(c.replace("|", "/").split()) for c in cells) + " |"


def candidate_table(records: Sequence[EvalRecord], parent_id: str | None, parent_source: str | None) -> str:
    """Every candidate of an iteration, one row each, compared with the reward they were asked to
    improve (`parent_id`, None when they were written from scratch)."""
    if not records:
        return ""
    rows = "\n".join(table_row(rec, parent_source) for rec in records)
    origin = f"each written as a change of {parent_id}" if parent_id else "each written from scratch"
    return prompts.load("table").format(origin=origin, rows=rows)


def fixed_terms(record: EvalRecord, rel_tol: float = 1e-6) -> list[str]:
    """Components with one value on every training step of every checkpoint and seed ("name = value").

    Such a term carries no information within an episode; its only effect is through episode length.
    """
    out = []
    names = sorted({k for r in record.results for c in r.checkpoints for k in c.components})
    for name in names:
        stats = [c.components.get(name) for r in record.results for c in r.checkpoints]
        if not stats or any(s is None for s in stats):
            continue
        lo = min(s.min for s in stats if s is not None)
        hi = max(s.max for s in stats if s is not None)
        if math.isfinite(lo) and math.isfinite(hi) and hi - lo <= rel_tol * max(1.0, abs(hi), abs(lo)):
            out.append(f"{name} = {_fmt(hi)}")
    return out
