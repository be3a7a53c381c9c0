"""One search batch's speed: K reward candidates x S seeds of a task trained in one compiled program,
against the obvious alternative, one candidate and one seed per program.

The candidates are what the LLM-free proposer makes of the task's human reward (`search/mutate.py`:
constants perturbed, terms reweighted), so the batch's reward program switches between K different
functions as a real search batch does. Both variants train the same number of PPO updates per run with
the task's PPO settings (`--set` changes them); the table gives the compile time, the training time
(evaluation excluded), environment steps per second over all runs, and, on a GPU, the device's peak
memory. The last line is the ratio of the batch's steps/s to the single run's: how much faster a
search's candidates train together than one after another.

    python benchmarks/batch.py CartPole-v1 --candidates 4 --seeds 2 --updates 20
    python benchmarks/batch.py Ant-Brax --candidates 16 --seeds 4 --updates 20 --single   # on a GPU
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import time


def candidates(task, k: int, seed: int = 0) -> list:
    """The human reward and k-1 variants of it made by the LLM-free proposer's operators."""
    from rewardlab.search.mutate import perturb, reweight
    from rewardlab.types import RewardProgram

    human = task.reward_program("human")
    rng = random.Random(seed)
    out = [RewardProgram("human", human.source)]
    while len(out) < k:
        op = rng.choice((perturb, reweight))
        made = op(human.source, rng, 0.5)
        if made is not None:
            out.append(RewardProgram(f"variant_{len(out)}", made[0]))
    return out


def _peak_memory_gb() -> float | None:
    import jax

    stats = jax.devices()[0].memory_stats() or {}
    peak = stats.get("peak_bytes_in_use")
    return None if peak is None else peak / 2**30


def measure(task, programs, cfg, seeds: int) -> dict:
    from rewardlab.engines import ppo_jax

    t0 = time.perf_counter()
    results = ppo_jax.train(task, programs, cfg, seeds=range(seeds), pad_single=False)
    wall = time.perf_counter() - t0
    r0 = results[0]
    bad = [r for r in results if r.status != "ok"]
    return {
        "runs": len(results),
        "envs": len(results) * cfg.num_envs,
        "compile": r0.compile_seconds,
        "train": r0.train_seconds,
        "wall": wall,
        "rate": len(results) * r0.env_steps / max(r0.train_seconds, 1e-9),
        "steps": r0.env_steps,
        "failed": len(bad),
        "peak_gb": _peak_memory_gb(),
        "best": max(r.max_fitness for r in results if r.status == "ok") if len(bad) < len(results) else None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("task")
    ap.add_argument("--candidates", type=int, default=16, help="reward candidates in the batch (default 16)")
    ap.add_argument("--seeds", type=int, default=4, help="seeds per candidate (default 4)")
    ap.add_argument("--updates", type=int, default=20, help="PPO updates per run (default 20)")
    ap.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", help="PPOConfig overrides")
    ap.add_argument("--single", action="store_true", help="also train 1 candidate x 1 seed, for the ratio")
    args = ap.parse_args(argv)

    import jax

    from rewardlab import tasks
    from rewardlab.config import apply_overrides

    task = tasks.get(args.task)
    base = apply_overrides(task.ppo, dict(kv.split("=", 1) for kv in args.set))
    per_update = base.num_envs * base.num_steps
    cfg = dataclasses.replace(
        base, total_timesteps=args.updates * per_update, n_checkpoints=1, eval_episodes=base.eval_episodes
    )
    dev = jax.devices()[0]
    print(f"jax {jax.__version__} on {dev.platform} ({dev.device_kind}); {task.name}: {base.num_envs} envs x "
          f"{base.num_steps} steps per update per run, {args.updates} updates per run")
    programs = candidates(task, args.candidates)
    print("| variant | runs | envs at once | compile s | training s | env steps/s | per update s | peak GB |")
    print("|---|---|---|---|---|---|---|---|", flush=True)
    variants = [("batch", programs, args.seeds)] + ([("single", programs[:1], 1)] if args.single else [])
    rates = []
    for name, progs, seeds in variants:  # each row as soon as it is measured: a time limit keeps the first
        m = measure(task, progs, cfg, seeds)
        rates.append(m["rate"])
        peak = "-" if m["peak_gb"] is None else f"{m['peak_gb']:.1f}"
        failed = f" ({m['failed']} runs failed)" if m["failed"] else ""
        print(f"| {name} | {m['runs']} | {m['envs']:,} | {m['compile']:.1f} | {m['train']:.2f} | "
              f"{m['rate']:,.0f} | {m['train'] / args.updates:.3f} | {peak} |{failed}", flush=True)
    if len(rates) == 2:
        runs = args.candidates * args.seeds
        print(f"batch / single steps/s: {rates[0] / rates[1]:.1f}x ({runs} runs in one program)")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
