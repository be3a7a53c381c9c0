"""Compile cost of a reward search's training batches: the fused program against the split one.

A search trains batch after batch of new reward candidates on one task and config, each batch in a
fresh sandboxed process. The fused program (`ppo_jax.train(..., fused=True)`: environment step, reward
and PPO update in one XLA program) compiles everything again for every batch; the split program
(default: rollout -> reward -> learn, `rewardlab.engines.split_loop`) recompiles only the small reward
program and gets the rest from JAX's persistent compilation cache after the first batch.

For each task and mode this runs `--batches` batches of `--cands` different reward programs (the task's
human reward with its total scaled by a batch- and candidate-specific constant, so every batch is new
code) in fresh processes sharing one fresh cache directory per mode, interleaving the two modes batch by
batch so machine load hits both alike. Printed per mode: the first (cold) batch's compile seconds, the
median compile seconds and process wall time of the later batches, the compile share of their wall time,
and split/fused ratios.

`--train-speed` instead compares training time only (compile excluded), in one process: the human
reward on `--cands` seeds, `--steps` steps (default 65,536), fused and split alternating `--batches` times;
it prints each pair's split/fused ratio and their median.

Run: python benchmarks/compile_split.py                       (CartPole, Pendulum, Acrobot; ~10 min)
     python benchmarks/compile_split.py --tasks CartPole-v1 --batches 3 --cands 4
     python benchmarks/compile_split.py --train-speed --tasks CartPole-v1 Pendulum-v1 --batches 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

MODES = ("fused", "split")


def variants(task, batch: int, n: int):
    """n reward programs for this batch: the human reward's total scaled by a constant of its own."""
    from rewardlab.types import RewardProgram

    base = task.human.source.replace("def compute_reward(", "def _human_reward(", 1)
    params = "state, action, next_state, env_reward" if "env_reward" in base.split(")")[0] else (
        "state, action, next_state"
    )
    out = []
    for i in range(n):
        k = 1.0 + 0.001 * (batch * 64 + i + 1)
        src = f"{base}\n\ndef compute_reward({params}):\n    total, comps = _human_reward({params})\n" \
              f"    return total * {k!r}, comps\n"
        out.append(RewardProgram(f"b{batch}_c{i}", src))
    return out


def child(mode: str, task_name: str, batch: int, n_cands: int, steps: int) -> None:
    t0 = time.perf_counter()
    import dataclasses

    from rewardlab import tasks
    from rewardlab.engines import ppo_jax

    task = tasks.get(task_name)
    cfg = task.ppo if steps <= 0 else dataclasses.replace(task.ppo, total_timesteps=steps)
    t_import = time.perf_counter() - t0
    res = ppo_jax.train(task, variants(task, batch, n_cands), cfg, seeds=[0], fused=mode == "fused")
    ok = [r for r in res if r.status == "ok"]
    print(json.dumps({
        "mode": mode, "task": task_name, "batch": batch, "runs": len(res), "ok": len(ok),
        "import_s": t_import, "compile_s": res[0].compile_seconds, "train_s": res[0].train_seconds,
        "wall_s": time.perf_counter() - t0,
        "fitness": [round(r.final_fitness, 4) for r in res],
    }))


def train_speed(task_name: str, n_runs: int, pairs: int, steps: int) -> None:
    """Training seconds of the fused and the split program, alternating in one process (compile excluded)."""
    import dataclasses

    from rewardlab import tasks
    from rewardlab.engines import ppo_jax

    task = tasks.get(task_name)
    cfg = dataclasses.replace(task.ppo, total_timesteps=steps)
    ratios = []
    for p in range(pairs):
        secs = {}
        for mode in MODES if p % 2 == 0 else MODES[::-1]:
            res = ppo_jax.train(task, [task.human], cfg, seeds=list(range(n_runs)), fused=mode == "fused")
            secs[mode] = res[0].train_seconds
        ratios.append(secs["split"] / secs["fused"])
        print(json.dumps({"task": task_name, "pair": p, **secs, "split/fused": ratios[-1]}), flush=True)
    print(f"{task_name}: {n_runs} runs x {steps} steps, training time split/fused per pair "
          f"{[round(r, 3) for r in ratios]}, median {statistics.median(ratios):.3f}")


def run_child(mode: str, task: str, batch: int, args, cache: str) -> dict:
    env = {**os.environ, "REWARDLAB_JAX_CACHE": cache}
    cmd = [sys.executable, __file__, "--child", mode, task, str(batch), str(args.cands), str(args.steps)]
    t = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{mode} batch {batch} on {task} failed:\n{out.stderr[-2000:]}")
    row = json.loads(out.stdout.strip().splitlines()[-1])
    row["process_s"] = time.perf_counter() - t
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", nargs="+", default=["CartPole-v1", "Pendulum-v1", "Acrobot-v1"])
    ap.add_argument("--batches", type=int, default=4, help="batches per task and mode (the first is cold)")
    ap.add_argument("--cands", type=int, default=8, help="reward candidates per batch (1 seed each)")
    ap.add_argument("--steps", type=int, default=0, help="env steps per run (0: the task's PPO budget)")
    ap.add_argument("--train-speed", action="store_true", help="compare training time only, in one process")
    ap.add_argument("--out", default=None, help="write all rows as JSON here")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        mode, task, batch, cands, steps = args.child
        child(mode, task, int(batch), int(cands), int(steps))
        return 0
    if args.train_speed:
        for task in args.tasks:
            train_speed(task, args.cands, args.batches, args.steps or 65_536)
        return 0
    rows = []
    summary = []
    for task in args.tasks:
        with tempfile.TemporaryDirectory() as d_fused, tempfile.TemporaryDirectory() as d_split:
            caches = {"fused": d_fused, "split": d_split}
            for b in range(args.batches):
                for mode in MODES if b % 2 == 0 else MODES[::-1]:
                    row = run_child(mode, task, b, args, caches[mode])
                    rows.append(row)
                    print(json.dumps(row), flush=True)
        per = {m: [r for r in rows if r["task"] == task and r["mode"] == m] for m in MODES}
        line = {"task": task}
        for m in MODES:
            later = per[m][1:]
            line[m] = {
                "cold_compile_s": per[m][0]["compile_s"],
                "compile_s": statistics.median(r["compile_s"] for r in later),
                "wall_s": statistics.median(r["process_s"] for r in later),
                "compile_share": statistics.median(r["compile_s"] / r["process_s"] for r in later),
            }
        same = all(f["fitness"] == s["fitness"] for f, s in zip(per["fused"], per["split"], strict=True))
        line["same_fitness"] = same
        summary.append(line)
    print(f"\n== compile per training batch, {args.cands} candidates x 1 seed, fresh process per batch ==")
    print(f"{'task':<14s} {'mode':<6s} {'cold compile':>12s} {'compile':>8s} {'wall':>7s} {'share':>6s}")
    for line in summary:
        for m in MODES:
            x = line[m]
            print(f"{line['task']:<14s} {m:<6s} {x['cold_compile_s']:>11.1f}s {x['compile_s']:>7.1f}s "
                  f"{x['wall_s']:>6.1f}s {x['compile_share']:>6.0%}")
        f, s = line["fused"], line["split"]
        print(f"{'':<14s} split/fused: compile {s['compile_s'] / f['compile_s']:.2f}x, "
              f"wall {s['wall_s'] / f['wall_s']:.2f}x; same fitness in every batch: {line['same_fitness']}")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"rows": rows, "summary": summary}, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
