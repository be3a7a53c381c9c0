"""Benchmark: a full default search with the LLM-free proposer, timed, with its compile share.

    python benchmarks/search.py CartPole-v1 Pendulum-v1 [--samples 16 --iterations 5] [--out runs/bench]
                                [--extra-seeds 16]
    python benchmarks/search.py examples/reacher.py:make_task --extra-seeds 16     # your own task

For each task it runs `rewardlab search TASK` with the CLI's defaults (16 samples x 5 iterations, the
task's search budget `Task.search_budget`, 5 final seeds), then prints the wall time, the share of
it spent compiling (the workers' reported XLA compile seconds, one per training batch), and the final
table: the winner against the Human reward it started from and the Sparse baseline, on fresh seeds.

Five final seeds cannot separate rewards whose seed-to-seed spread is as large as their difference, so
`--extra-seeds N` then retrains the winner and the human reward on N more seeds (2000, 2001, ...; seeds
no step of the search used) with the search's budget, and prints both means, the paired difference per
seed (mean and standard error) and on how many seeds the winner did better.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rewardlab.runfolder import Layout, read_json


def compile_seconds(run_dir: Path) -> float:
    """Sum over worker jobs that delivered results of their compile time (one program per job)."""
    total = 0.0
    for job in sorted(Layout(run_dir).worker.glob("job-*")):
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
    ap.add_argument("--extra-seeds", type=int, default=0, help="retrain winner and human on N more seeds")
    args = ap.parse_args(argv)
    from rewardlab.api.cli import main as cli
    from rewardlab.store import folder_stem

    rows = []
    for task in args.tasks:
        out = Path(args.out) / folder_stem(task)  # a task reference (FILE.py:attr) is not a folder name
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
        run_dir = max((p.parent for p in out.glob("*/run.json")), key=lambda p: p.stat().st_mtime)
        summary = json.loads(Layout(run_dir).summary.read_text())
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
        if args.extra_seeds > 0:
            extra_seeds(task, run_dir, args.extra_seeds)
    return 0


def extra_seeds(task_name: str, run_dir: Path, n: int) -> None:
    """Winner vs human on `n` seeds no step of the search used (sandboxed worker, the search's budget)."""
    import dataclasses
    import statistics

    from rewardlab.runfolder import read_config, read_task_ref
    from rewardlab.sandbox import train_in_worker
    from rewardlab.search.config import SearchConfig
    from rewardlab.tasks.ref import load, resolve
    from rewardlab.types import RewardProgram

    layout = Layout(run_dir)
    if not layout.final_method.exists():
        print("  extra seeds: no winner")
        return
    ref = read_task_ref(layout)
    task, ref = (load(ref), ref) if ref is not None else resolve(task_name)
    config = SearchConfig.from_dict(read_config(layout))
    seeds = [2000 + k for k in range(n)]
    programs = [
        RewardProgram("method", layout.final_method.read_text()),
        dataclasses.replace(task.human, name="human"),
    ]
    results = train_in_worker(ref, programs, config.ppo(task), seeds, run_dir=run_dir / "extra")
    fit = {(r.candidate, r.seed): r.max_fitness for r in results if r.ok}
    both = [s for s in seeds if ("method", s) in fit and ("human", s) in fit]
    if len(both) < 2:
        print(f"  extra seeds: too few runs finished ({len(both)})")
        return
    m = [fit[("method", s)] for s in both]
    h = [fit[("human", s)] for s in both]
    d = [a - b for a, b in zip(m, h, strict=True)]
    se = statistics.stdev(d) / len(d) ** 0.5
    wins = sum(x > 0 for x in d)
    print(
        f"  {len(both)} extra seeds {both[0]}-{both[-1]}: method mean {statistics.mean(m):.4g} "
        f"(sd {statistics.stdev(m):.3g}), human mean {statistics.mean(h):.4g} "
        f"(sd {statistics.stdev(h):.3g}); "
        f"paired difference {statistics.mean(d):+.4g} +- {se:.3g} (s.e.), method better on {wins}/{len(d)}"
    )


if __name__ == "__main__":
    sys.exit(main())
