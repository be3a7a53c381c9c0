"""Benchmark: a full default search with the LLM-free proposer, timed, with its compile share.

    python benchmarks/search.py CartPole-v1 Pendulum-v1 [--samples 16 --iterations 5] [--out runs/bench]

For each task it runs `rewardlab search TASK` with the CLI's defaults (16 samples x 5 iterations, the
per-task search budget of `DEFAULT_TIMESTEPS`, 5 final seeds), then prints the wall time, the share of
it spent compiling (the workers' reported XLA compile seconds, one per training batch), and the final
table: the winner against the Human reward it started from and the Sparse baseline, on fresh seeds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rewardlab.store import read_json


def compile_seconds(run_dir: Path) -> float:
    """Sum over worker jobs that delivered results of their compile time (one program per job)."""
    total = 0.0
    for job in sorted((run_dir / "worker").glob("job-*")):
        res = job / "results.json"
        if res.exists():
            results = read_json(res)["results"]
            total += max((r.get("compile_seconds", 0.0) for r in results), default=0.0)
    return total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("tasks", nargs="+")
    ap.add_argument("--samples", default="16")
    ap.add_argument("--iterations", default="5")
    ap.add_argument("--out", default="runs/bench")
    args = ap.parse_args(argv)
    from rewardlab.search.cli import main as cli

    rows = []
    for task in args.tasks:
        out = Path(args.out) / task
        t0 = time.perf_counter()
        code = cli(
            [
                "search",
                task,
                "--samples",
                args.samples,
                "--iterations",
                args.iterations,
                "--out",
                str(out),
                "--quiet",
            ]
        )
        wall = time.perf_counter() - t0
        if code != 0:
            print(f"{task}: search failed with exit code {code}", file=sys.stderr)
            continue
        run_dir = sorted(out.glob(f"{task}-*"))[-1]
        summary = json.loads((run_dir / "summary.json").read_text())
        table = summary["final"]["table"]
        comp = compile_seconds(run_dir)
        best_search = max(
            (it["best_fitness"] for it in summary["iterations"] if it["best_fitness"] is not None),
            default=float("nan"),
        )
        human_search = summary["iterations"][0]["candidates"][0].get("fitness")
        rows.append((task, wall, comp, table, best_search, human_search, summary["final"], run_dir))

    for task, wall, comp, table, best_search, human_search, final, run_dir in rows:
        print(f"\n== {task}  ({run_dir})")
        print(
            f"wall time {wall:.0f} s ({wall / 60:.1f} min); compiling {comp:.0f} s = {100 * comp / wall:.0f}%"
        )
        print(
            f"search fitness: human reward (iteration 0, seed 0) {human_search}, best found {best_search:.4g}"
        )
        for name in ("method", "human", "sparse"):
            r = table[name]
            print(
                f"  final {name:7s} mean {r['mean']:.4g}  IQM {r['iqm']:.4g}  "
                f"95% CI [{r['ci'][0]:.4g}, {r['ci'][1]:.4g}]  values {[round(v, 4) for v in r['values']]}"
            )
        hns = final.get("human_normalised_mean", {})
        print(f"  human-normalised score (mean): {hns.get('value')} {hns.get('message', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
