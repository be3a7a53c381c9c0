"""Benchmark: the LLM prompt's reflection, measured with your LLM (issue 12's prompt comparison).

    python benchmarks/prompts.py Pendulum-v1 --llm openai:MODEL@URL --seeds 11 12 13
    python benchmarks/prompts.py Pendulum-v1 --llm manual:answers --seeds 11 --parallel 3
    python benchmarks/prompts.py --table runs/prompts                  # the table of finished searches

For each arm and seed it runs `rewardlab search TASK --llm SPEC --samples 4 --iterations 3 --seed S` with
the arm's prompt settings:

* `paper`: `--reflection best`, only the best candidate's training statistics (Eureka's prompt);
* `table`: the default reflection, every candidate of the last iteration with its score, the best score
  per iteration, a note when nothing improved, the score's definition, gamma, budget and episode limit;
* `elites3`: the table plus the run's next two best distinct rewards with code and score (`--elites 3`).

Each search's winner is compared with the human reward on the search's final seeds (paired by seed, the
summary's Method - Human). The table lists per search the best score after each iteration (search
fitness, one seed per candidate), the confirmed winner, the paired difference with its 95 % CI and on
how many seeds the winner did better; then per arm the mean of the paired differences over its searches.
Searches of one arm differ in seed and in what the LLM answered, so only the per-arm spread over several
seeds says whether two arms differ.

With `manual:DIR` every search gets its own folder `DIR/<arm>-s<seed>`: whoever answers (a person with a
chat window, or an agent) answers each folder's prompts without seeing the others. `--parallel N` runs
N searches at once (a manual LLM needs them all waiting at once; an API LLM just finishes sooner).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ARMS = {
    "paper": ["--reflection", "best"],
    "table": [],
    "elites3": ["--elites", "3"],
}


def search_command(task: str, llm: str, arm: str, seed: int, out: Path, extra: Sequence[str]) -> list[str]:
    """The `rewardlab search` command line of one arm and seed (a manual LLM gets a folder per search)."""
    spec = f"{llm.rstrip('/')}/{arm}-s{seed}" if llm.startswith("manual:") else llm
    return [
        sys.executable, "-m", "rewardlab.cli", "search", task, "--llm", spec, "--seed", str(seed),
        "--out", str(out / f"{arm}-s{seed}"), *ARMS[arm], *extra, "--quiet",
    ]


def search_row(run_dir: Path) -> dict:
    """What one finished search says about its prompt: best per iteration, winner, Method - Human."""
    summary = json.loads((run_dir / "summary.json").read_text())
    config = summary.get("config", {})
    final = summary.get("final") or {}
    paired = final.get("method_minus_human") or {}
    table = final.get("table") or {}
    method = final.get("method") or {}
    return {
        "run": str(run_dir),
        "task": summary.get("task") if isinstance(summary.get("task"), str) else config.get("task"),
        "llm": config.get("llm"),
        "reflection": config.get("reflection"),
        "elites": config.get("elites"),
        "search_seeds": config.get("seeds") or 1,
        "seed": config.get("seed"),
        "best_per_iteration": [it.get("best_fitness") for it in summary.get("iterations", [])],
        "winner": method.get("candidate"),
        "confirm": method.get("confirm_fitness"),
        "method": (table.get("method") or {}).get("mean"),
        "human": (table.get("human") or {}).get("mean"),
        "diff": paired.get("mean"),
        "ci": paired.get("ci"),
        "wins": paired.get("wins"),
        "n": paired.get("n"),
    }


def arm_of(row: dict) -> str:
    """The prompt a search used (`llm-free` for a search without an LLM, a reference row), with
    `+seedsN` when each candidate trained on N search seeds."""
    if not row.get("llm"):
        arm = "llm-free"
    elif row["reflection"] == "best":
        arm = "paper"
    else:
        arm = "table" if (row["elites"] or 1) == 1 else f"elites{row['elites']}"
    seeds = int(row.get("search_seeds") or 1)
    return arm if seeds == 1 else f"{arm}+seeds{seeds}"


def _num(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}g}"


def print_table(rows: list[dict]) -> None:
    """One line per search, then per arm the mean paired difference over its searches."""
    print("| task | arm | seed | best after each iteration | winner (confirmed) | Method / Human "
          "| Method - Human [95% CI] | better on |")
    print("|---|---|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: (str(r["task"]), arm_of(r), r["seed"] or 0)):
        best = ", ".join(_num(b) for b in r["best_per_iteration"])
        ci = "[{}, {}]".format(*(_num(c) for c in r["ci"])) if r["ci"] else ""
        print(f"| {r['task']} | {arm_of(r)} | {r['seed']} | {best} | {r['winner']} ({_num(r['confirm'])}) | "
              f"{_num(r['method'])} / {_num(r['human'])} | {_num(r['diff'])} {ci} | {r['wins']}/{r['n']} |")
    print()
    by_arm: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        if r["diff"] is not None:
            by_arm.setdefault((str(r["task"]), arm_of(r)), []).append(r["diff"])
    for (task, arm), diffs in sorted(by_arm.items()):
        se = statistics.stdev(diffs) / len(diffs) ** 0.5 if len(diffs) > 1 else None
        spread = f" ± {se:.3g} (s.e. over searches)" if se is not None else ""
        print(f"{task} {arm}: mean Method - Human over {len(diffs)} search(es) "
              f"{statistics.mean(diffs):+.3g}{spread}")


def finished_runs(out: Path) -> list[Path]:
    """Every folder under `out` that holds a finished search's summary.json."""
    return sorted(p.parent for p in out.rglob("summary.json"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("task", nargs="?", help="task name or FILE.py:attr")
    ap.add_argument("--llm", help="LLM spec (manual:DIR gives each search its own subfolder)")
    ap.add_argument("--arms", default="paper,table,elites3", help="comma-separated: " + ", ".join(ARMS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[11])
    ap.add_argument("--out", default="runs/prompts")
    ap.add_argument("--parallel", type=int, default=1, help="searches at once")
    ap.add_argument("--search-args", default="--samples 4 --iterations 3",
                    help="more `rewardlab search` options, one string (default: %(default)s)")
    ap.add_argument("--table", metavar="OUT", help="only print the table of the finished searches under OUT")
    args = ap.parse_args(argv)
    if args.table:
        rows = [search_row(p) for p in finished_runs(Path(args.table))]
        if not rows:
            print(f"no finished search under {args.table}", file=sys.stderr)
            return 2
        print_table(rows)
        return 0
    if not args.task or not args.llm:
        ap.error("a task and --llm SPEC are needed (or --table OUT)")
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        ap.error(f"unknown arm(s) {', '.join(unknown)}; choose from {', '.join(ARMS)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    extra = args.search_args.split()
    queue = [search_command(args.task, args.llm, a, s, out, extra) for s in args.seeds for a in arms]
    running: list[tuple[subprocess.Popen, list[str], float]] = []
    failed = 0
    while queue or running:
        while queue and len(running) < max(1, args.parallel):
            cmd = queue.pop(0)
            print("$", " ".join(cmd[2:]), flush=True)
            running.append((subprocess.Popen(cmd), cmd, time.monotonic()))
        time.sleep(2)
        for proc, cmd, t0 in list(running):
            if proc.poll() is not None:
                running.remove((proc, cmd, t0))
                took = time.monotonic() - t0
                print(f"exit {proc.returncode} after {took:.0f} s: {' '.join(cmd[5:])}", flush=True)
                failed += proc.returncode != 0
    rows = [search_row(p) for p in finished_runs(out)]
    if rows:
        print_table(rows)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
