"""Human vs sparse reward on a built-in task at one or more budgets: the calibration of `search_timesteps`.

For each budget, one `ppo_jax.train` call trains the task's human and sparse rewards on the same seeds
(one compiled program, both rewards in one batch) and prints, per reward, the best-checkpoint fitness
(what a search ranks by) and the final one, mean and per seed, and the mean fitness at every checkpoint.
A JSON file with every run's checkpoints is written next to the text when `--out` is given.

    python benchmarks/tasks.py Freeway-MinAtar --steps 250000 500000 --seeds 5 --out benchmarks/results/tasks
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("task")
    ap.add_argument("--steps", type=int, nargs="+", help="budgets (default: the task's search budget)")
    ap.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    ap.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", help="PPOConfig overrides")
    ap.add_argument("--rewards", nargs="+", default=["human", "sparse"], help="human, sparse or reward files")
    ap.add_argument("--out", type=Path, help="folder for <task>-<steps>.json with every checkpoint")
    args = ap.parse_args(argv)

    from rewardlab import tasks
    from rewardlab.config import apply_overrides
    from rewardlab.engines import ppo_jax

    task = tasks.get(args.task)
    base = apply_overrides(task.ppo, dict(kv.split("=", 1) for kv in args.set))
    programs = [task.reward_program(r) for r in args.rewards]
    for steps in args.steps or [task.search_budget]:
        cfg = dataclasses.replace(base, total_timesteps=steps)
        t0 = time.perf_counter()
        results = ppo_jax.train(task, programs, cfg, seeds=range(args.seeds))
        wall = time.perf_counter() - t0
        r0 = results[0]
        rate = len(results) * r0.env_steps / max(r0.train_seconds, 1e-9)
        print(
            f"\n## {task.name}: {r0.env_steps:,} steps per run, {args.seeds} seeds, {len(results)} runs "
            f"in one batch: wall {wall:.0f} s (compile {r0.compile_seconds:.0f} s, training "
            f"{r0.train_seconds:.0f} s, {rate:,.0f} env steps/s in total)"
        )
        print("| reward | best, mean | best, per seed | final, mean | final, per seed |")
        print("|---|---|---|---|---|")
        for prog in programs:
            runs = [r for r in results if r.candidate == prog.name]
            best = [r.max_fitness for r in runs]
            final = [r.final_fitness for r in runs]
            print(
                f"| {prog.name} | **{statistics.mean(best):.3g}** | {' '.join(f'{b:.3g}' for b in best)} | "
                f"{statistics.mean(final):.3g} | {' '.join(f'{f:.3g}' for f in final)} |"
            )
        for prog in programs:
            runs = [r for r in results if r.candidate == prog.name and r.status == "ok"]
            n_ck = len(runs[0].checkpoints)
            curve = [statistics.mean(r.checkpoints[i].fitness for r in runs) for i in range(n_ck)]
            print(f"mean fitness per checkpoint, {prog.name}: {' '.join(f'{c:.3g}' for c in curve)}")
        sys.stdout.flush()
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            data = {"task": task.name, "steps": steps, "config": dataclasses.asdict(cfg), "wall_s": wall,
                    "results": [r.to_dict() for r in results]}
            (args.out / f"{task.name}-{steps}.json").write_text(json.dumps(data, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
