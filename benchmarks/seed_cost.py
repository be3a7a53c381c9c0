"""Benchmark: what extra training seeds per candidate cost a search batch, per task.

    python benchmarks/seed_cost.py CartPole-v1 Pendulum-v1 Acrobot-v1 [--candidates 16] [--seeds 1 2 4]

A search trains its candidates in batches of `batch_size` (16) candidates x `seeds` seeds in one compiled
program. Compiling that program costs about the same whatever the number of runs in it, while training
time grows with the runs. Where compile dominates, a second or third seed per candidate makes the
search's fitness far less noisy for little wall time; where training dominates, it doubles the bill.

For each task this trains one batch of `--candidates` distinct rewards (the human reward and constant
perturbations of it, as the LLM-free proposer writes them) at the task's search budget with the
search's checkpoints and evaluation episodes, once per seed count, each in a fresh process with the
compilation cache off, and prints compile seconds, training seconds, and the wall time relative to one
seed. Run it on an idle machine: under load, compile times vary by 2x from one process to the next.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys


def _one(task_name: str, candidates: int, seeds: int) -> dict:
    """Train one batch in this process; returns its timings (run in a child, see `main`)."""
    import dataclasses
    import random
    import time

    from rewardlab.engines import ppo_jax
    from rewardlab.search.config import SearchConfig
    from rewardlab.search.mutate import perturb
    from rewardlab.tasks import registry
    from rewardlab.types import RewardProgram

    task = registry.get(task_name)
    rng = random.Random(0)
    sources = {task.human.source}
    for _ in range(50 * candidates):
        if len(sources) >= candidates:
            break
        out = perturb(task.human.source, rng, 0.5)
        if out is not None:
            sources.add(out[0])
    programs = [RewardProgram(f"c{i}", src, "bench") for i, src in enumerate(sorted(sources))]
    cfg = SearchConfig(task=task_name).ppo(task)
    cfg = dataclasses.replace(cfg, total_timesteps=task.search_budget)
    t = time.perf_counter()
    res = ppo_jax.train(task, programs, cfg, seeds=list(range(seeds)))
    wall = time.perf_counter() - t
    ok = [r for r in res if r.status == "ok"]
    return {
        "task": task_name,
        "candidates": len(programs),
        "seeds": seeds,
        "compile_s": ok[0].compile_seconds if ok else None,
        "train_s": ok[0].train_seconds if ok else None,
        "wall_s": wall,
        "ok": len(ok),
        "steps": task.search_budget,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tasks", nargs="+")
    ap.add_argument("--candidates", type=int, default=16)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_one(args.child[0], int(args.child[1]), int(args.child[2]))))
        return 0
    env = {**os.environ, "REWARDLAB_JAX_CACHE": "0"}
    print(
        f"{'task':22s} {'steps':>8s} {'seeds':>5s} {'runs':>5s} {'compile s':>9s} {'train s':>8s} "
        f"{'wall s':>7s} {'wall / 1 seed':>13s}  train/compile"
    )
    for name in args.tasks:
        base = None
        for s in args.seeds:
            proc = subprocess.run(
                [sys.executable, __file__, "x", "--child", name, str(args.candidates), str(s)],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            if proc.returncode != 0:
                print(f"{name}: seeds {s} failed: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
                continue
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            base = base or row["wall_s"]
            runs = row["candidates"] * s
            c, t, w = row["compile_s"], row["train_s"], row["wall_s"]
            print(
                f"{name:22s} {row['steps']:8d} {s:5d} {runs:5d} {c:9.1f} {t:8.1f} {w:7.1f} {w / base:13.2f}  "
                f"{t / c:.2f}",
                flush=True,
            )
    print(f"load average at the end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
