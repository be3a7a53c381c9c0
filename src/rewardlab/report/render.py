"""`report.html`: a static page (inline SVG, no scripts, no network) from `summary.json`'s content."""

from __future__ import annotations

import html
import math
from typing import Any

from rewardlab.report.headline import ROWS, row_label, row_names

_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def _fmt(x: Any) -> str:
    return f"{x:.4g}" if isinstance(x, (int, float)) and math.isfinite(x) else "-"


def svg_plot(
    series: dict[str, list[tuple[float, float]]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    lines: bool = True,
    width: int = 520,
    height: int = 260,
) -> str:
    """A small line / scatter chart as an SVG string; non-finite points are skipped."""
    pts = [(x, y) for s in series.values() for x, y in s if math.isfinite(x) and math.isfinite(y)]
    if not pts:
        return f"<p><em>{html.escape(title)}: no data</em></p>"
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1)
    L, R, T, B = 60, 130, 24, 36
    sx = lambda x: L + (x - x0) / (x1 - x0) * (width - L - R)
    sy = lambda y: height - B - (y - y0) / (y1 - y0) * (height - T - B)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f'<text x="{width / 2}" y="15" text-anchor="middle" font-size="13">{html.escape(title)}</text>',
        f'<line x1="{L}" y1="{height - B}" x2="{width - R}" y2="{height - B}" stroke="#333"/>',
        f'<line x1="{L}" y1="{T}" x2="{L}" y2="{height - B}" stroke="#333"/>',
        f'<text x="{L - 4}" y="{sy(y0)}" text-anchor="end" font-size="10">{_fmt(y0)}</text>',
        f'<text x="{L - 4}" y="{sy(y1) + 8}" text-anchor="end" font-size="10">{_fmt(y1)}</text>',
        f'<text x="{L}" y="{height - B + 14}" font-size="10">{_fmt(x0)}</text>',
        f'<text x="{width - R}" y="{height - B + 14}" text-anchor="end" font-size="10">{_fmt(x1)}</text>',
        f'<text x="{(L + width - R) / 2}" y="{height - 4}" text-anchor="middle" font-size="11">'
        f"{html.escape(xlabel)}</text>",
        f'<text x="12" y="{height / 2}" font-size="11" transform="rotate(-90 12 {height / 2})" '
        f'text-anchor="middle">{html.escape(ylabel)}</text>',
    ]
    for k, (name, s) in enumerate(series.items()):
        color = _COLORS[k % len(_COLORS)]
        good = [(sx(x), sy(y)) for x, y in s if math.isfinite(x) and math.isfinite(y)]
        if lines and len(good) > 1:
            d = " ".join(f"{x:.1f},{y:.1f}" for x, y in good)
            out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{d}"/>')
        out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>' for x, y in good]
        out.append(
            f'<text x="{width - R + 6}" y="{T + 14 * k + 10}" font-size="10" fill="{color}">'
            f"{html.escape(name[:22])}</text>"
        )
    out.append("</svg>")
    return "\n".join(out)


def _table(header: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _paired_lines(final: dict[str, Any]) -> list[str]:
    """Method - Human paired by seed, and a warning when the human-normalised score divides by noise."""
    out = []
    diff = final.get("method_minus_human")
    if diff and diff["n"] > 0 and diff["mean"] is not None:
        lo, hi = diff["ci"]
        out.append(
            f"<p>Method &minus; Human, paired by seed: <b>{diff['mean']:+.3g}</b> (95% CI [{_fmt(lo)}, "
            f"{_fmt(hi)}]); Method better on {diff['wins']} of {diff['n']} seeds"
            + (f", tied on {diff['ties']}" if diff["ties"] else "")
            + ".</p>"
        )
        if diff.get("same_reward"):
            out.append(
                "<p><b>The search kept the human reward unchanged</b>: Method and Human are the same code, "
                "so their difference is training noise.</p>"
            )
    gap = final.get("human_sparse_gap")
    if gap and gap["unreliable"]:
        out.append(f"<p><b>The human-normalised score is unreliable</b>: {html.escape(gap['message'])}.</p>")
    return out


def _llm_lines(llm: dict[str, Any] | None) -> list[str]:
    """The LLM the run asked, every spec in order when a resume switched it, and who answered."""
    if not llm:
        return []
    e = html.escape
    specs = " &rarr; ".join(f"<code>{e(str(s))}</code>" for s in llm["specs"])
    what = "LLMs, in order" if len(llm["specs"]) > 1 else "LLM"
    answered = ", ".join(
        f"{e(m['backend'])}:{e(m['model'])} {m['calls']} calls ({m['cached']} cached)" for m in llm["models"]
    )
    return [f"<p>{what}: {specs}" + (f"; answered: {answered}" if answered else "") + ".</p>"]


def render(summary: dict[str, Any]) -> str:
    e = html.escape
    its = summary["iterations"]
    parts = [
        f"<h1>rewardlab search: {e(str(summary['task']))}</h1>",
        f"<p>Run <code>{e(summary['run'])}</code>, status <b>{e(str(summary['status']))}</b>.</p>",
        *_llm_lines(summary.get("llm")),
    ]

    final = summary.get("final")
    parts.append("<h2>Final evaluation</h2>")
    if final:
        rows = []
        for name in row_names(final["table"]):
            row = final["table"][name]
            if row:
                label = name.capitalize() if name in ROWS else row_label(name)
                rows.append(
                    [
                        e(label),
                        str(row["n"]),
                        _fmt(row["mean"]),
                        _fmt(row["iqm"]),
                        f"[{_fmt(row['ci'][0])}, {_fmt(row['ci'][1])}]",
                        str(row["failed"]),
                    ]
                )
        parts.append(
            _table(["Reward", "seeds", "mean", "IQM", "95% CI of IQM", "failed runs"], rows, "final")
        )
        hosts = [line for name in row_names(final["table"]) for line in final["table"][name].get("host", ())]
        if hosts:
            shown = "<br>".join(map(e, hosts))
            parts.append(f"<p>Host baselines (trained in the search's process):<br>{shown}</p>")
        for stat in ("mean", "iqm"):
            hns = final.get(f"human_normalised_{stat}")
            if hns:
                val = _fmt(hns["value"]) if hns["value"] is not None else "undefined"
                note = f" ({e(hns['message'])})" if hns["message"] else ""
                parts.append(f"<p>Human-normalised score ({stat}): <b>{val}</b>{note}</p>")
        parts.extend(_paired_lines(final))
        parts.append(f"<p>Seeds: {e(str(final['seeds']))}. Fitness per run = max over checkpoints.</p>")
    else:
        parts.append("<p><em>not run yet</em></p>")

    parts.append("<h2>Search</h2>")
    scatter: dict[str, list[tuple[float, float]]] = {}
    best_curve: list[tuple[float, float]] = []
    for n, it in enumerate(its):
        label = "fitness" if summary["config"].get("restarts", 1) == 1 else f"restart {it['restart']}"
        scatter.setdefault(label, []).extend(
            (n, c["fitness"]) for c in it["candidates"] if c.get("fitness") is not None
        )
        if it["best_fitness"] is not None:
            best_curve.append((n, it["best_fitness"]))
    scatter["best so far"] = best_curve
    parts.append(
        svg_plot(
            {k: v for k, v in scatter.items() if k != "best so far"},
            title="Fitness of every candidate",
            xlabel="iteration",
            ylabel="fitness",
            lines=False,
        )
    )
    parts.append(
        svg_plot(
            {"best so far": best_curve}, title="Best fitness so far", xlabel="iteration", ylabel="fitness"
        )
    )
    rows = []
    for it in its:
        for c in it["candidates"]:
            rows.append(
                [
                    f"{it['restart']}/{it['iteration']}",
                    str(c["index"]),
                    e(c["origin"]),
                    e(c["status"]),
                    _fmt(c.get("fitness")),
                    e((c.get("message") or c.get("note") or "")[:160]),
                ]
            )
    parts.append(
        _table(["restart/iter", "cand", "origin", "status", "fitness", "message / note"], rows, "candidates")
    )

    for conf in summary.get("confirmation") or []:
        parts.append(f"<h2>Confirmation (restart {e(str(conf['restart']))})</h2>")
        parts.append(
            f"<p>The best candidates, and the starting reward, retrained on fresh seeds "
            f"{e(str(conf['seeds']))}; the winner is the best mean on those seeds only.</p>"
        )
        rows = [
            [
                e(c["id"]) + (" &#9733;" if c["id"] == conf.get("winner") else ""),
                e(c["origin"]),
                _fmt(c.get("search_fitness")),
                _fmt(c.get("confirm_fitness")),
                e(", ".join(_fmt(v) for v in c.get("per_seed", []))),
                e(c.get("message") or ""),
            ]
            for c in conf["candidates"]
        ]
        parts.append(
            _table(
                ["candidate", "origin", "search fitness", "confirmed mean", "per seed", "message"],
                rows,
                "confirmation",
            )
        )

    win = summary.get("winner")
    parts.append("<h2>Winner</h2>")
    if win:
        parts.append(f"<p>Candidate <code>{e(win['id'])}</code>.</p>")
        comps = {
            k.replace("component ", ""): [
                (float(s), v) for s, v in zip(win["steps"], vals, strict=False) if v is not None
            ]
            for k, vals in win["curves"].items()
            if k.startswith("component ")
        }
        parts.append(
            svg_plot(
                comps,
                title="Reward components of the winner (training mean)",
                xlabel="environment steps",
                ylabel="component",
            )
        )
        fit = win["curves"].get("task_score", [])
        parts.append(
            svg_plot(
                {
                    "task score": [
                        (float(s), v) for s, v in zip(win["steps"], fit, strict=False) if v is not None
                    ]
                },
                title="Fitness of the winner during training",
                xlabel="environment steps",
                ylabel="fitness",
            )
        )
        parts.append(f"<h3>Code</h3><pre>{e(win['source'])}</pre>")
        parts.append(
            f"<h3>Diff against the previous best</h3><pre>{e(win['diff'] or '(first iteration)')}</pre>"
        )
    else:
        parts.append("<p><em>no candidate trained</em></p>")

    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;"
        "font-size:13px}pre{background:#f6f6f6;padding:.5em;overflow-x:auto}"
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>rewardlab {e(str(summary['task']))}"
        f"</title><style>{style}</style></head><body>{''.join(parts)}</body></html>\n"
    )
