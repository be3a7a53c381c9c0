"""Benchmark: a full default search with the LLM-free proposer, timed, with its compile share.

    python benchmarks/search.py CartPole-v1 Pendulum-v1 [--samples 16 --iterations 5] [--out runs/bench]
                                [--extra-seeds 16]
    python benchmarks/search.py examples/reacher.py:make_task --extra-seeds 16     # your own task
    python benchmarks/search.py CartPole-v1 --arms new,old,halving --extra-seeds 16 --json rows.json

For each task it runs `rewardlab search TASK` with the CLI's defaults (16 samples x 5 iterations, the
task's search budget `Task.search_budget`, 10 final seeds), then prints the wall time, the share of
it spent compiling (the workers' reported XLA compile seconds, one per training batch), and the final
table: the winner against the Human reward it started from and the Sparse baseline, on fresh seeds.

Ten final seeds cannot separate rewards whose seed-to-seed spread is as large as their difference, so
`--extra-seeds N` then retrains the winner and the human reward on N more seeds (2000, 2001, ...; seeds
no step of the search used) with the search's budget, and prints both means, the paired difference per
seed (mean and standard error) and on how many seeds the winner did better.

`--arms new,old,halving` runs each task's search once per arm (issue 12's comparison):

* `new`: today's defaults (resident worker, LLVM level 1, 10 final seeds, the proposer skips pure
  rescales where training normalises rewards);
* `old`: the defaults before issue 12 (a fresh sandboxed child per batch, XLA's default LLVM level in
  the children, 5 final seeds, `--set skip_rescales=false`);
* `halving`: today's defaults plus `--halving` with twice the samples (0.9x the env steps of `new`).

and ends with one table of every search: wall time, compile share, and, with `--extra-seeds N`, the
winner against the human reward on the N unused seeds (paired difference and its standard error).
`--json FILE` also writes those rows.

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


ARMS = ("new", "old", "halving")
# The children's XLA flags before the LLVM level-1 default (rewardlab/_xla_flags.py): the safe flag only.
OLD_XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false"


def arm_settings(arm: str, samples: str) -> tuple[list[str], str, dict[str, str]]:
    """(extra CLI arguments, worker mode, environment for the sandboxed children) of one arm."""
    if arm == "new":
        return [], "resident", {}
    if arm == "old":
        env = {"REWARDLAB_KEEP_XLA_FLAGS": "1", "XLA_FLAGS": OLD_XLA_FLAGS}
        return ["--final-seeds", "5", "--set", "skip_rescales=false"], "fresh", env
    if arm == "halving":  # the later --samples wins
        return ["--halving", "--samples", str(2 * int(samples))], "resident", {}
    raise ValueError(f"unknown arm {arm!r} (choose from {', '.join(ARMS)})")


def run_search(
    task: str,
    out: Path,
    samples: str,
    iterations: str,
    workers: str,
    extra: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> tuple[int, float]:
    """(exit code, wall seconds) of `rewardlab search TASK` with the CLI's defaults plus `extra`;
    `workers` is 'resident' (the default) or 'fresh' (a new sandboxed child per batch); `env` is set
    while the search runs, so the children it starts inherit it."""
    import os

    from rewardlab.api.cli import main as cli
    from rewardlab.executors import LocalEvaluator
    from rewardlab.search import evaluate

    original = evaluate.evaluator_for
    saved = {k: os.environ.get(k) for k in env or {}}

    def fresh(config, task_obj, store):
        return LocalEvaluator(store.root, resident=False)

    if workers == "fresh":
        evaluate.evaluator_for = fresh
    os.environ.update(env or {})
    try:
        t0 = time.perf_counter()
        argv = ["--samples", samples, "--iterations", iterations, "--out", str(out), "--quiet"]
        code = cli(["search", task, *argv, *(extra or [])])
        return code, time.perf_counter() - t0
    finally:
        evaluate.evaluator_for = original
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tasks", nargs="+")
    ap.add_argument("--samples", default="16")
    ap.add_argument("--iterations", default="5")
    ap.add_argument("--out", default="runs/bench")
    ap.add_argument("--extra-seeds", type=int, default=0, help="retrain winner and human on N more seeds")
    ap.add_argument(
        "--arms",
        default="new",
        help=f"comma-separated search settings to compare ({', '.join(ARMS)}; see the module docstring)",
    )
    ap.add_argument(
        "--workers",
        default="resident",
        help="comma-separated worker modes to compare (resident, fresh) for the 'new' arm; each search "
        "runs once per mode, modes alternating",
    )
    ap.add_argument("--repeats", type=int, default=1, help="searches per task and worker mode")
    ap.add_argument("--json", default=None, help="also write the summary rows to this file")
    args = ap.parse_args(argv)
    from rewardlab.store import folder_stem

    modes = [m.strip() for m in args.workers.split(",") if m.strip()]
    if not modes or any(m not in ("resident", "fresh") for m in modes):
        ap.error("--workers takes resident and/or fresh")
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    if not arms or any(a not in ARMS for a in arms):
        ap.error(f"--arms takes {', '.join(ARMS)}")
    if len(modes) > 1 and arms != ["new"]:
        ap.error("compare worker modes (--workers) or arms (--arms), not both")
    # (arm, worker mode, label): the label names the run's folder and its rows
    if len(modes) > 1:
        plan = [("new", m, m) for m in modes]
    else:  # the 'new' arm runs in the one worker mode asked for
        plan = [(a, modes[0] if a == "new" else arm_settings(a, args.samples)[1], a) for a in arms]
    rows = []
    walls: dict[tuple[str, str], list[float]] = {}
    for task in args.tasks:
        for rep in range(args.repeats):
            for arm, mode, label in plan if rep % 2 == 0 else plan[::-1]:
                extra, _, env = arm_settings(arm, args.samples)
                # a task reference (FILE.py:attr) is not a folder name
                out = Path(args.out) / folder_stem(task) / label
                code, wall = run_search(task, out, args.samples, args.iterations, mode, extra, env)
                if code != 0:
                    print(f"{task} ({label}): search failed with exit code {code}", file=sys.stderr)
                    continue
                run_dir = max((p.parent for p in out.glob("*/run.json")), key=lambda p: p.stat().st_mtime)
                summary = json.loads(Layout(run_dir).summary.read_text())
                best_search = max(
                    (it["best_fitness"] for it in summary["iterations"] if it["best_fitness"] is not None),
                    default=float("nan"),
                )
                human_search = summary["iterations"][0]["candidates"][0].get("fitness")
                walls.setdefault((task, label), []).append(wall)
                rows.append((task, label, wall, summary["final"], best_search, human_search, run_dir))

    table = []
    for task, label, wall, final, best_search, human_search, run_dir in rows:
        b = batch_times(run_dir)
        print(f"\n== {task} [{label}]  ({run_dir})")
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
            r = final["table"][name]
            print(
                f"  final {name:7s} mean {r['mean']:.4g}  IQM {r['iqm']:.4g}  "
                f"95% CI [{r['ci'][0]:.4g}, {r['ci'][1]:.4g}]  values {[round(v, 4) for v in r['values']]}"
            )
        hns = final.get("human_normalised_mean", {})
        print(f"  human-normalised score (mean): {hns.get('value')} {hns.get('message', '')}")
        row = {
            "task": task,
            "arm": label,
            "wall_s": wall,
            "compile_s": b["compile"],
            "compile_share": b["compile"] / wall,
            "run_dir": str(run_dir),
        }
        if args.extra_seeds > 0:
            row.update(extra_seeds(task, run_dir, args.extra_seeds) or {})
        table.append(row)
    if len(table) > 1:
        print_table(table)
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=1))
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


def print_table(table: list[dict]) -> None:
    """One markdown row per search: wall time, compile share, winner vs human on the extra seeds."""
    print(
        "\n| task | arm | wall time | compiling | Method - Human (extra seeds), paired ± s.e. | better on |"
    )
    print("|---|---|---|---|---|---|")
    for r in table:
        diff = f"{r['diff']:+.4g} ± {r['se']:.3g}" if "diff" in r else "-"
        wins = f"{r['wins']}/{r['n']}" if "wins" in r else "-"
        print(
            f"| {r['task']} | {r['arm']} | {r['wall_s']:.0f} s | {100 * r['compile_share']:.0f}% | "
            f"{diff} | {wins} |"
        )


def extra_seeds(task_name: str, run_dir: Path, n: int) -> dict | None:
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
        return None
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
        return None
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
    return {
        "method_mean": statistics.mean(m),
        "human_mean": statistics.mean(h),
        "diff": statistics.mean(d),
        "se": se,
        "wins": wins,
        "n": len(d),
    }


if __name__ == "__main__":
    sys.exit(main())
