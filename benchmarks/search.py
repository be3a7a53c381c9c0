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

`--workers fresh,resident` runs each search once per worker mode, alternating, and prints the ratio:
`fresh` trains every batch in a new sandboxed child (before the resident worker), `resident` (the
default of `rewardlab search`) sends the batches of a search to one long-lived child that keeps the
engine's compiled programs (`sandbox/resident.py`). Per mode it prints where the batches' time went:
training, compiling (as the engine reports it) and the rest (process start, imports, tracing that the
engine does not count as compile).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from rewardlab.runfolder import Layout, read_json


def compile_seconds(run_dir: Path) -> float:
    """Sum over worker jobs that delivered results of their compile time (one program per job)."""
    return batch_times(run_dir)["compile"]


def batch_times(run_dir: Path) -> dict[str, float]:
    """Seconds over the worker jobs that delivered results: from the job file to the results file
    (`batches`), of which training, compiling (as the engine reports it) and the rest; and the count."""
    out = {"jobs": 0.0, "batches": 0.0, "train": 0.0, "compile": 0.0}
    for job in sorted(Layout(run_dir).worker.glob("job-*")):
        res = job / "results.json"
        if not res.exists():
            continue
        results = read_json(res)["results"]
        out["jobs"] += 1
        out["batches"] += res.stat().st_mtime - (job / "job.json").stat().st_mtime
        out["compile"] += max((r.get("compile_seconds", 0.0) for r in results), default=0.0)
        out["train"] += max((r.get("train_seconds", 0.0) for r in results), default=0.0)
    out["other"] = out["batches"] - out["train"] - out["compile"]
    return out


def run_search(task: str, out: Path, samples: str, iterations: str, workers: str) -> tuple[int, float]:
    """(exit code, wall seconds) of `rewardlab search TASK` with the CLI's defaults; `workers` is
    'resident' (the default) or 'fresh' (a new sandboxed child per batch)."""
    from rewardlab.api.cli import main as cli
    from rewardlab.executors import LocalEvaluator
    from rewardlab.search import evaluate

    original = evaluate.evaluator_for

    def fresh(config, task_obj, store):
        return LocalEvaluator(store.root, resident=False)

    if workers == "fresh":
        evaluate.evaluator_for = fresh
    try:
        t0 = time.perf_counter()
        argv = ["--samples", samples, "--iterations", iterations, "--out", str(out), "--quiet"]
        code = cli(["search", task, *argv])
        return code, time.perf_counter() - t0
    finally:
        evaluate.evaluator_for = original


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("tasks", nargs="+")
    ap.add_argument("--samples", default="16")
    ap.add_argument("--iterations", default="5")
    ap.add_argument("--out", default="runs/bench")
    ap.add_argument("--extra-seeds", type=int, default=0, help="retrain winner and human on N more seeds")
    ap.add_argument(
        "--workers",
        default="resident",
        help="comma-separated worker modes to compare (resident, fresh); each search runs once per mode, "
        "modes alternating",
    )
    ap.add_argument("--repeats", type=int, default=1, help="searches per task and worker mode")
    args = ap.parse_args(argv)
    from rewardlab.store import folder_stem

    modes = [m.strip() for m in args.workers.split(",") if m.strip()]
    if not modes or any(m not in ("resident", "fresh") for m in modes):
        ap.error("--workers takes resident and/or fresh")
    rows = []
    walls: dict[tuple[str, str], list[float]] = {}
    for task in args.tasks:
        for rep in range(args.repeats):
            for mode in modes if rep % 2 == 0 else modes[::-1]:
                # a task reference (FILE.py:attr) is not a folder name
                out = Path(args.out) / folder_stem(task) / mode
                code, wall = run_search(task, out, args.samples, args.iterations, mode)
                if code != 0:
                    print(f"{task} ({mode}): search failed with exit code {code}", file=sys.stderr)
                    continue
                run_dir = max((p.parent for p in out.glob("*/run.json")), key=lambda p: p.stat().st_mtime)
                summary = json.loads(Layout(run_dir).summary.read_text())
                best_search = max(
                    (it["best_fitness"] for it in summary["iterations"] if it["best_fitness"] is not None),
                    default=float("nan"),
                )
                human_search = summary["iterations"][0]["candidates"][0].get("fitness")
                walls.setdefault((task, mode), []).append(wall)
                rows.append((task, mode, wall, summary["final"], best_search, human_search, run_dir))

    for task, mode, wall, final, best_search, human_search, run_dir in rows:
        table = final["table"]
        b = batch_times(run_dir)
        print(f"\n== {task} [{mode} worker]  ({run_dir})")
        print(
            f"wall time {wall:.0f} s ({wall / 60:.1f} min); compiling {b['compile']:.0f} s = "
            f"{100 * b['compile'] / wall:.0f}%"
        )
        print(
            f"{b['jobs']:.0f} training batches took {b['batches']:.0f} s: training {b['train']:.0f} s, "
            f"compiling {b['compile']:.0f} s, process start/imports/tracing {b['other']:.0f} s"
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
    if {"resident", "fresh"} <= set(modes):
        print()
        for task in args.tasks:
            res, fre = walls.get((task, "resident"), []), walls.get((task, "fresh"), [])
            if res and fre:
                mr, mf = statistics.median(res), statistics.median(fre)
                print(
                    f"{task}: search wall time resident/fresh = {mr / mf:.2f}x (median {mr:.0f} s vs "
                    f"{mf:.0f} s over {len(res)}/{len(fre)} searches)"
                )
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
