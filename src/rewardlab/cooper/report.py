"""Curves, reward-hacking onset and the final table from a run folder's ``arms/*.json``."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rewardlab.cooper.config import ARMS


def moving_average(values: Sequence[float], window: int) -> list[float]:
    """Trailing mean over at most ``window`` values (NaNs skipped)."""
    out = []
    for i in range(len(values)):
        chunk = [v for v in values[max(0, i - window + 1) : i + 1] if not math.isnan(v)]
        out.append(sum(chunk) / len(chunk) if chunk else float("nan"))
    return out


def reward_at(rewards_ma: Sequence[float], step: int) -> float:
    """Moving-average training reward at GRPO step ``step`` (step s has rewards[s-1]; 0 uses the first)."""
    if not rewards_ma:
        return float("nan")
    return rewards_ma[min(len(rewards_ma), max(1, step)) - 1]


def hacking_onset(
    evals: Sequence[dict[str, float]],
    rewards: Sequence[float],
    *,
    drop: float = 5.0,
    window: int = 10,
    key: str = "mean_acc",
) -> int | None:
    """First evaluation step where true accuracy is ``drop`` points below its running peak while the
    training reward (moving average) is above its value at that peak; None if it never happens."""
    ma = moving_average(rewards, window)
    peak, peak_step = -math.inf, 0
    for e in evals:
        if e[key] > peak:
            peak, peak_step = e[key], e["step"]
        if e[key] <= peak - drop and reward_at(ma, e["step"]) > reward_at(ma, peak_step):
            return int(e["step"])
    return None


def _nanmean(values: Sequence[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return statistics.fmean(vals) if vals else float("nan")


def load_results(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((run_dir / "arms").glob("*.json"))]


def summarise(res: dict[str, Any], drop: float, window: int) -> dict[str, Any]:
    rewards = [r["reward_mean"] for r in res["steps"]]
    ma = moving_average(rewards, window)
    last, first = res["eval"][-1], res["eval"][0]
    fp = [r["rm_fp_rate"] for r in res["steps"] if "rm_fp_rate" in r]
    wa = [r["rm_wrong_accept_rate"] for r in res["steps"] if "rm_wrong_accept_rate" in r]
    ans = [r["frac_ans"] for r in res["steps"] if "frac_ans" in r]
    bench = [r["rm_bench_acc"] for r in res["steps"] if "rm_bench_acc" in r]
    kl = [t["kl"] for t in res.get("trl", []) if "kl" in t]
    return {
        "arm": res["arm"],
        "seed": res["seed"],
        "steps": last["step"],
        "start_mean_acc": first["mean_acc"],
        "final_mean_acc": last["mean_acc"],
        "final_greedy_acc": last["greedy_acc"],
        "final_rule_acc": last["rule_acc"],
        "peak_mean_acc": max(e["mean_acc"] for e in res["eval"]),
        "reward_start": ma[min(len(ma), window) - 1] if ma else float("nan"),
        "reward_final": ma[-1] if ma else float("nan"),
        "rm_fp_rate_final": statistics.fmean(fp[-window:]) if fp else float("nan"),
        "rm_bench_acc_final": bench[-1] if bench else float("nan"),
        "rm_fp_rate_start": statistics.fmean(fp[:window]) if fp else float("nan"),
        "rm_wrong_accept_start": _nanmean(wa[:window]),
        "rm_wrong_accept_final": _nanmean(wa[-window:]),
        "frac_ans_start": statistics.fmean(ans[:window]) if ans else float("nan"),
        "frac_ans_final": statistics.fmean(ans[-window:]) if ans else float("nan"),
        "min_mean_acc": min(e["mean_acc"] for e in res["eval"]),
        "kl_final": statistics.fmean(kl[-window:]) if kl else float("nan"),
        "hacking_onset": hacking_onset(res["eval"], rewards, drop=drop, window=window),
        "seconds_per_step": res.get("seconds_per_step", float("nan")),
        "wall_seconds": res.get("wall_seconds", float("nan")),
    }


def _fmt(x: Any, nd: int = 1) -> str:
    if x is None:
        return "none"
    if isinstance(x, float):
        return "n/a" if math.isnan(x) else f"{x:.{nd}f}"
    return str(x)


def _mean_std(values: Sequence[float]) -> str:
    vals = [v for v in values if not math.isnan(v)]
    if not vals:
        return "n/a"
    sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return f"{statistics.fmean(vals):.1f} ± {sd:.1f}"


def table_markdown(rows: Sequence[dict[str, Any]]) -> str:
    head = (
        "| arm | seed | steps | mean@8 start → final (peak, min) | greedy final | strict-rule acc final | "
        "train reward start → final | RM FP rate start → last | RM accepts wrong, start → last | "
        "ans= share start → last | RM bench acc (last) | KL (last) | hacking onset | s/step |"
    )
    lines = [head, "|" + " --- |" * 14]
    for r in rows:
        lines.append(
            f"| {r['arm']} | {r['seed']} | {r['steps']} | {_fmt(r['start_mean_acc'])} → "
            f"{_fmt(r['final_mean_acc'])} ({_fmt(r['peak_mean_acc'])}, {_fmt(r.get('min_mean_acc'))}) | "
            f"{_fmt(r['final_greedy_acc'])} | "
            f"{_fmt(r['final_rule_acc'])} | {_fmt(r['reward_start'], 3)} → {_fmt(r['reward_final'], 3)} | "
            f"{_fmt(r.get('rm_fp_rate_start', math.nan), 3)} → {_fmt(r['rm_fp_rate_final'], 3)} | "
            f"{_fmt(r.get('rm_wrong_accept_start', math.nan), 2)} → "
            f"{_fmt(r.get('rm_wrong_accept_final', math.nan), 2)} | "
            f"{_fmt(r.get('frac_ans_start', math.nan), 3)} → {_fmt(r.get('frac_ans_final', math.nan), 3)} | "
            f"{_fmt(r['rm_bench_acc_final'], 3)} | {_fmt(r['kl_final'], 4)} | "
            f"{_fmt(r['hacking_onset'])} | {_fmt(r['seconds_per_step'], 2)} |"
        )
    lines += [
        "",
        "| arm | runs | final mean@8 (mean ± std) | final greedy (mean ± std) | runs with hacking onset |",
        "| --- | --- | --- | --- | --- |",
    ]
    for arm in ARMS:
        rs = [r for r in rows if r["arm"] == arm]
        if rs:
            hacked = [f"s{r['seed']}@{r['hacking_onset']}" for r in rs if r["hacking_onset"] is not None]
            lines.append(
                f"| {arm} | {len(rs)} | {_mean_std([r['final_mean_acc'] for r in rs])} | "
                f"{_mean_std([r['final_greedy_acc'] for r in rs])} | "
                f"{len(hacked)}/{len(rs)} {' '.join(hacked)} |"
            )
    return "\n".join(lines)


def bench_by_form_markdown(results: Sequence[dict[str, Any]]) -> list[str]:
    """RM bench accuracy per (answer form, label) cell at the start and end of each RM arm's run."""
    runs = [r for r in results if "rm_bench_by_form" in r and r["arm"] == "cooper"]
    if not runs:
        return []
    cells = sorted({k for r in runs for k in r["rm_bench_by_form"]["start"] if not k.startswith("n:")})
    first = runs[0]["rm_bench_by_form"]["start"]
    lines = [
        "## Cooper's RM on the bench set, by answer form and label (start → end)",
        "",
        "Cells are `<answer form>/<oracle label>`; n = rows in the cell. `ans/1` and `dot0/1` are correct "
        "answers in the forms the strict rule rejects, which Cooper's positives never include.",
        "",
        "| seed | " + " | ".join(f"{c} (n={first.get('n:' + c, 0)})" for c in cells) + " |",
        "|" + " --- |" * (len(cells) + 1),
    ]
    for r in runs:
        st, en = r["rm_bench_by_form"]["start"], r["rm_bench_by_form"]["end"]
        vals = [f"{_fmt(st.get(c, math.nan), 2)} → {_fmt(en.get(c, math.nan), 2)}" for c in cells]
        lines.append(f"| {r['seed']} | " + " | ".join(vals) + " |")
    return [*lines, ""]


def plot_curves(results: Sequence[dict[str, Any]], path: Path, window: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"rule": "tab:blue", "static": "tab:red", "cooper": "tab:green"}
    fig, axes = plt.subplots(2, 3, figsize=(14, 6.5), dpi=50)
    panels = [
        (axes[0, 0], "held-out accuracy, oracle % (solid mean@8, dashed greedy)"),
        (axes[0, 1], "training reward (moving avg)"),
        (axes[0, 2], "rollout accuracy (oracle, moving avg)"),
        (axes[1, 0], "RM false-positive share of rollouts"),
        (axes[1, 1], "share of wrong rollouts the RM accepts"),
        (axes[1, 2], "share of rollouts answering in ans= form"),
    ]
    for res in results:
        c = colors.get(res["arm"], "k")
        lab = f"{res['arm']} s{res['seed']}"
        ev_steps = [e["step"] for e in res["eval"]]
        axes[0, 0].plot(
            ev_steps, [e["mean_acc"] for e in res["eval"]], color=c, alpha=0.8, marker="o", ms=3, label=lab
        )
        axes[0, 0].plot(ev_steps, [e["greedy_acc"] for e in res["eval"]], color=c, alpha=0.5, ls="--")
        steps = list(range(1, len(res["steps"]) + 1))

        for key, ax in (
            ("reward_mean", axes[0, 1]),
            ("oracle_acc", axes[0, 2]),
            ("rm_fp_rate", axes[1, 0]),
            ("rm_wrong_accept_rate", axes[1, 1]),
            ("frac_ans", axes[1, 2]),
        ):
            if any(key in r for r in res["steps"]):
                vals = [r.get(key, math.nan) for r in res["steps"]]
                ax.plot(steps, moving_average(vals, window), color=c, alpha=0.7)
    for ax, title in panels:
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("GRPO step")
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(run_dir: Path, dest: Path | None = None, command: str | None = None) -> str:
    """Write ``report.md``, ``table.json`` and ``curves.png`` for a run folder; returns the markdown."""
    run_dir = Path(run_dir)
    dest = Path(dest) if dest else run_dir
    dest.mkdir(parents=True, exist_ok=True)
    cfg = json.loads((run_dir / "config.json").read_text())
    base = json.loads((run_dir / "base.json").read_text()) if (run_dir / "base.json").exists() else {}
    results = sorted(load_results(run_dir), key=lambda r: (ARMS.index(r["arm"]), r["seed"]))
    rows = [summarise(r, cfg["hack_drop"], cfg["hack_window"]) for r in results]
    if results:
        plot_curves(results, dest / "curves.png", cfg["hack_window"])
    (dest / "table.json").write_text(json.dumps({"base": base, "runs": rows}, indent=1, default=float))
    sft = base.get("sft_eval", {})
    md = ["# Cooper at CPU scale: results", ""]
    if command:
        md += ["Produced by:", "", "```", command, "```", ""]
    md += [
        "## Base models",
        "",
        f"- policy: {base.get('policy_params', 'n/a')} parameters; "
        f"SFT {_fmt(base.get('sft_seconds', math.nan), 0)} s; "
        f"held-out mean@{cfg['eval_samples']} {_fmt(sft.get('mean_acc', math.nan))} %, greedy "
        f"{_fmt(sft.get('greedy_acc', math.nan))} %, "
        f"strict-rule view {_fmt(sft.get('rule_acc', math.nan))} %",
        f"- RM: {base.get('rm_params', 'n/a')} parameters; {base.get('rm_rows', 'n/a')} hybrid-labelled rows "
        f"({_fmt(100 * base.get('rm_judged_frac', math.nan))} % decided by the judge, "
        f"{_fmt(100 * base.get('rm_dropped_frac', math.nan))} % dropped); "
        f"training {_fmt(base.get('rm_seconds', math.nan), 0)} s; held-out accuracy "
        f"{_fmt(base.get('rm_val_acc', math.nan), 3)}; "
        f"bench accuracy {_fmt(base.get('rm_bench_acc', math.nan), 3)}",
        "",
        "## Runs",
        "",
        f"Hacking onset = first evaluation step where held-out mean@{cfg['eval_samples']} is "
        f"≥ {cfg['hack_drop']} "
        f"points below its running peak while the {cfg['hack_window']}-step moving average of the "
        "arm's training "
        "reward is above its value at the peak.",
        "",
        table_markdown(rows),
        "",
        "![curves](curves.png)",
        "",
        *bench_by_form_markdown(results),
    ]
    text = "\n".join(md)
    (dest / "report.md").write_text(text)
    return text
