"""Train several rewards x seeds on an example task in one compiled batch and print per-seed fitness.

    .venv/bin/python examples/measure.py examples/reacher.py:make_task human sparse \
        examples/reacher_better_reward.py --seeds 4 [--steps N] [--set lr=3e-4] [--json out.json]

Rewards are `human`, `sparse` or paths of reward program files. `--steps` defaults to the task's
`ppo.total_timesteps`; `--steps search` uses the task's `search_timesteps`. Prints, per reward, the best
checkpoint fitness (`max_fitness`, the search's metric) and the final one for every seed, their means,
and the wall time of the whole batch (compile included).
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
    ap.add_argument("task", help="FILE.py:make_task")
    ap.add_argument("rewards", nargs="+", help="human, sparse, or a reward program file")
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--seed-offset", type=int, default=0)
    ap.add_argument("--steps", default=None, help="steps per run, or 'search' for the task's search budget")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="PPO override")
    ap.add_argument("--json", default=None, help="write every result (checkpoints included) here")
    args = ap.parse_args(argv)

    from rewardlab.config import apply_overrides
    from rewardlab.engines import ppo_jax
    from rewardlab.rewards.program import read_program
    from rewardlab.tasks.ref import resolve

    task, _ = resolve(args.task)
    overrides = dict(s.split("=", 1) for s in args.set)
    cfg = apply_overrides(task.ppo, overrides)
    if args.steps == "search":
        cfg = dataclasses.replace(cfg, total_timesteps=task.search_timesteps)
    elif args.steps:
        cfg = dataclasses.replace(cfg, total_timesteps=int(float(args.steps)))
    programs = []
    for spec in args.rewards:
        if spec in ("human", "sparse"):
            programs.append(getattr(task, spec))
        else:
            prog = read_program(spec)
            programs.append(dataclasses.replace(prog, name=Path(spec).stem))
    seeds = list(range(args.seed_offset, args.seed_offset + args.seeds))
    steps = cfg.num_updates * cfg.batch_size
    print(f"{task.name}: {len(programs)} reward(s) x {len(seeds)} seed(s), {steps:,} steps per run")
    t0 = time.perf_counter()
    results = ppo_jax.train(task, programs, cfg, seeds)
    wall = time.perf_counter() - t0
    first = results[0]
    print(f"wall {wall:.1f} s (compile {first.compile_seconds:.1f} s, training {first.train_seconds:.1f} s)")
    for prog in programs:
        rows = [r for r in results if r.candidate == prog.name]
        best = [r.max_fitness for r in rows]
        final = [r.final_fitness for r in rows]
        n_cp = min(len(r.checkpoints) for r in rows)
        curve = [statistics.fmean(r.checkpoints[i].fitness for r in rows) for i in range(n_cp)]
        print(
            f"{prog.name:<28} max {statistics.fmean(best):.3f} [{' '.join(f'{v:.2f}' for v in best)}]"
            f"  final {statistics.fmean(final):.3f} [{' '.join(f'{v:.2f}' for v in final)}]"
            f"  status {','.join(sorted({r.status for r in rows}))}"
        )
        print(f"{'':<28} mean fitness per checkpoint: {' '.join(f'{v:.2f}' for v in curve)}")
    if args.json:
        Path(args.json).write_text(json.dumps([r.to_dict() for r in results], indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
