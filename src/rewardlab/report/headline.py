"""The few lines a search prints when it ends: the final table (with any host baselines and what their
LLM or model did), the paired Method - Human difference with
its verdict, and the human-normalised score with its reliability, every number rounded to what its seeds
support.

Why rounding matters: a final table of five seeds whose 95 % CI spans 280 points cannot tell 339.7 from
340, and printing `-0.27292965271593933` suggests a precision no run has. Each number is rounded to two
significant digits of its own uncertainty (half its CI width), the convention of physics tables; a number
with no uncertainty estimate keeps three significant digits.
"""

from __future__ import annotations

import math
from typing import Any

ROWS = ("method", "human", "sparse")


def row_names(table: dict[str, Any]) -> list[str]:
    """The final table's rows in order: method, human, sparse, then the host baselines (`--baseline`)."""
    return [n for n in ROWS if n in table] + sorted(n for n in table if n not in ROWS)


def row_label(name: str) -> str:
    """A row's name as shown: a host baseline's objective file by its file name (the run folder's
    config.yaml and summary.json keep the whole path)."""
    parts = []
    for part in name.split("+"):
        kind, sep, arg = part.partition(":")
        is_file = sep and kind == "judge"
        parts.append(f"{kind}:{arg.replace(chr(92), '/').rsplit('/', 1)[-1]}" if is_file else part)
    return "+".join(parts)


def rounded(value: float | None, uncertainty: float | None = None) -> str:
    """`value` as text, rounded to two significant digits of `uncertainty` (three significant digits of
    the value itself when the uncertainty is unknown, zero or not finite)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if uncertainty is None or not math.isfinite(uncertainty) or uncertainty <= 0:
        return f"{value:.3g}"
    exponent = math.floor(math.log10(uncertainty)) - 1
    decimals = max(0, -exponent)
    step = 10.0**exponent
    text = f"{round(value / step) * step:.{decimals}f}"
    return "0" if text.strip("-0.") == "" else text


def _half_width(ci: Any) -> float | None:
    if not ci or len(ci) != 2 or any(c is None for c in ci):
        return None
    lo, hi = float(ci[0]), float(ci[1])
    return (hi - lo) / 2 if math.isfinite(lo) and math.isfinite(hi) else None


def _ci(ci: Any, unc: float | None, signed: bool = False) -> str:
    if _half_width(ci) is None:
        return "[n/a]"
    lo, hi = (rounded(float(c), unc) for c in ci)
    if signed:
        lo, hi = (t if t.startswith("-") or t == "0" else "+" + t for t in (lo, hi))
    return f"[{lo}, {hi}]"


def table_lines(table: dict[str, Any]) -> list[str]:
    """One line per reward of the final table: mean, IQM and the IQM's 95 % bootstrap CI, rounded."""
    lines = []
    names = row_names(table)
    width = max([7, *(len(row_label(n)) for n in names)])
    for name in names:
        row = table[name]
        unc = _half_width(row.get("ci"))
        lines.append(
            f"  {row_label(name):{width}s} mean {rounded(row.get('mean'), unc)}  IQM "
            f"{rounded(row.get('iqm'), unc)}  95% CI {_ci(row.get('ci'), unc)}  ({row.get('n', 0)} seeds)"
        )
        pad = " " * (width + 3)
        if row.get("failed"):
            lines.append(f"{pad}{row['failed']} run(s) failed: {'; '.join(row.get('errors', []))[:500]}")
        for host in row.get("host", ()):
            lines.append(f"{pad}{host}")
    return lines


MIN_PAIRED_SEEDS = 5
"""Below this many seeds the bootstrap CI of Method - Human is no interval at all (with 2 seeds it spans
the two differences): the headline names no winner."""


def paired_line(paired: dict[str, Any] | None) -> str | None:
    """Method - Human on the seeds both trained on, with a plain verdict: which reward is better, that the
    seeds cannot tell (the CI contains zero, or too few seeds), or that the winner is the human reward
    itself (a gap between two trainings of one reward on one seed comes from a device whose arithmetic is
    not deterministic, such as a GPU)."""
    if not paired or not paired.get("n"):
        return None
    n, wins = int(paired["n"]), int(paired.get("wins", 0))
    mean, ci = paired.get("mean"), paired.get("ci")
    unc = _half_width(ci)
    diff = rounded(mean, unc)
    if not diff.startswith("-") and diff not in ("0", "n/a"):
        diff = "+" + diff
    if paired.get("same_reward"):
        verdict = "the search kept the human reward unchanged, so the difference is training noise"
    elif unc is None or n < MIN_PAIRED_SEEDS:
        verdict = f"too few paired seeds to tell (use --final-seeds {MIN_PAIRED_SEEDS} or more)"
    elif ci[0] > 0:
        verdict = "the searched reward beats the human reward"
    elif ci[1] < 0:
        verdict = "the human reward beats the searched one"
    else:
        verdict = f"no clear difference at {n} seeds (the CI contains 0)"
    return (
        f"  method - human (paired by seed): {diff}  95% CI {_ci(ci, unc, signed=True)}, "
        f"better on {wins}/{n} seeds: {verdict}"
    )


def normalised_line(final: dict[str, Any]) -> str | None:
    """The human-normalised score (mean and IQM, three significant digits), flagged when |Human - Sparse|
    is within seed noise."""
    mean, iq = final.get("human_normalised_mean"), final.get("human_normalised_iqm")
    if not mean:
        return None
    if mean.get("value") is None:
        return f"  human-normalised score: n/a ({mean.get('message') or 'undefined'})"
    text = f"  human-normalised score: mean {mean['value']:.3g}"
    if iq and iq.get("value") is not None:
        text += f", IQM {iq['value']:.3g}"
    gap = final.get("human_sparse_gap") or {}
    if gap.get("unreliable"):
        text += f" (unreliable: {gap.get('message') or 'Human and Sparse are within seed noise'})"
    return text


def headline(final: dict[str, Any]) -> list[str]:
    """Every line of the end-of-run result, from the `final` section of `summary.json`."""
    lines = table_lines(final.get("table", {}))
    for extra in (paired_line(final.get("method_minus_human")), normalised_line(final)):
        if extra:
            lines.append(extra)
    return lines
