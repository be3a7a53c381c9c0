"""Memory of a Brax training rollout: the slim state rewards see against the whole physics state.

The engine records every step of a rollout for the reward (`ppo_jax.SegmentData`: state and next state),
so the record a reward sees sets how much memory a batch needs. Before `BraxAdapter.reward_state`, that
record was Brax's whole MJX physics state plus five fields; now it is the slim `BraxState`. This script
builds both for the same task and config, without training anything:

* `whole`: the task's adapter with `reward_state` returning the old record (`_WholeState`: the carried
  physics state and qpos, qvel, torso_pos, com, time, exactly the leaves the engine recorded before);
* `slim`: the task as it is.

For each it prints the bytes one recorded environment step takes (`SegmentData`'s tree size divided by
runs x steps x envs; shapes only) and, unless `--no-compile`, XLA's memory analysis of the compiled split
rollout program (`split_loop`'s `rollout`, vmapped over runs: argument, output and temporary bytes; the
recorded segment is most of its output, and it stays in memory until the reward program has read it).
Compiling a rollout takes one to three minutes per robot and mode on a 2-core CPU. The ratio whole / slim
is the saving; on a GPU the same tree sizes are what each recorded step costs.

    python benchmarks/brax_memory.py Hopper-Brax --runs 4 --envs 64 --steps 16
    python benchmarks/brax_memory.py Ant-Brax Humanoid-Brax --no-compile --runs 64 --envs 1024
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import math
import time
from typing import Any, NamedTuple


class _WholeState(NamedTuple):
    """The record Brax rewards saw before the slim view (the old `BraxState`)."""

    pipeline_state: Any
    qpos: Any
    qvel: Any
    torso_pos: Any
    com: Any
    time: Any


def _whole_task(task: Any) -> Any:
    """`task` whose adapter shows rewards the whole physics state, as the engine recorded it before."""
    env = copy.copy(task.env)

    def whole(carried: Any) -> _WholeState:
        slim = type(task.env).reward_state(env, carried)
        return _WholeState(carried.pipeline_state, slim.qpos, slim.qvel, slim.torso_pos, slim.com, slim.time)

    env.reward_state = whole  # the instance's method wins over the class's: `adapter.reward_state` finds it
    return dataclasses.replace(task, make_env=lambda: env)


def _nbytes(tree: Any) -> int:
    import jax

    return sum(math.prod(leaf.shape) * leaf.dtype.itemsize for leaf in jax.tree.leaves(tree))


class Measured(NamedTuple):
    step_bytes: float  # one recorded environment step of SegmentData
    state_bytes: float  # one state as rewards see it
    rollout: dict[str, int]  # memory analysis of the compiled rollout program (empty without compile)
    compile_s: float


def _analysis(compiled: Any) -> dict[str, int]:
    ma = compiled.memory_analysis()
    return {
        "argument": int(ma.argument_size_in_bytes),
        "output": int(ma.output_size_in_bytes),
        "temp": int(ma.temp_size_in_bytes),
        "alias": int(ma.alias_size_in_bytes),
    }


def measure(task: Any, cfg: Any, runs: int, compile_programs: bool) -> Measured:
    import jax
    import jax.numpy as jnp

    from rewardlab.engines.ppo_jax import build_program, init_fn

    prog = build_program(task, cfg, None, 0, 1)
    keys = jax.ShapeDtypeStruct((runs, 2), jnp.uint32)
    cands = jax.ShapeDtypeStruct((runs,), jnp.int32)
    runner = jax.eval_shape(init_fn(prog.init), keys, cands)
    rollout = jax.jit(jax.vmap(prog.parts.rollout))
    _, _, _, seg = jax.eval_shape(rollout, runner)
    recorded = runs * cfg.num_steps * cfg.num_envs
    step_bytes = _nbytes(seg) / recorded
    state_bytes = _nbytes(seg.states) / recorded
    if not compile_programs:
        return Measured(step_bytes, state_bytes, {}, 0.0)
    t = time.perf_counter()
    roll = _analysis(rollout.lower(runner).compile())
    return Measured(step_bytes, state_bytes, roll, time.perf_counter() - t)


def _rollout_bytes(m: Measured) -> int:
    return sum(m.rollout[k] for k in ("argument", "output", "temp"))


def _size(n: float) -> str:
    return f"{n / 1e9:,.2f} GB" if n >= 1e9 else f"{n / 1e6:,.1f} MB"


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tasks", nargs="*", default=["Hopper-Brax"])
    ap.add_argument("--runs", type=int, default=4, help="runs in the program (candidates x seeds; default 4)")
    ap.add_argument("--envs", type=int, default=64, help="environments per run (default 64)")
    ap.add_argument("--steps", type=int, default=16, help="rollout steps per update (default 16)")
    ap.add_argument("--no-compile", action="store_true", help="tree sizes only (no XLA compile)")
    ap.add_argument("--order", choices=("whole-first", "slim-first"), default="whole-first",
                    help="which mode compiles first in the process (compile times depend a little on it)")
    args = ap.parse_args(argv)

    import jax

    from rewardlab import tasks
    from rewardlab.tasks.brax import CPU_PPO

    cfg = dataclasses.replace(
        CPU_PPO, num_envs=args.envs, num_steps=args.steps, total_timesteps=2 * args.envs * args.steps
    )
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; {args.runs} runs x {args.steps} steps x "
          f"{args.envs} envs = {args.runs * args.steps * args.envs:,} recorded steps per rollout")
    print("| task | state rewards see | bytes per state | bytes per recorded step | rollout argument / "
          "output / temp (MB) | compile (s) |")
    print("|---|---|---|---|---|---|")
    for name in args.tasks:
        task = tasks.get(name)
        out = {}
        modes = [("whole", _whole_task(task)), ("slim", task)]
        for mode, t in modes if args.order == "whole-first" else modes[::-1]:
            m = out[mode] = measure(t, cfg, args.runs, not args.no_compile)
            r = m.rollout
            mem = f"{_mb(r['argument'])} / {_mb(r['output'])} / {_mb(r['temp'])}" if r else "-"
            print(f"| {name} | {mode} | {m.state_bytes:,.0f} | {m.step_bytes:,.0f} | {mem} | "
                  f"{m.compile_s:.0f} |", flush=True)
        whole, slim = out["whole"], out["slim"]
        recorded = args.runs * args.steps * args.envs
        line = (
            f"{name}: whole / slim = {whole.step_bytes / slim.step_bytes:.1f}x bytes per recorded step "
            f"(a rollout's segment: {_size(whole.step_bytes * recorded)} against "
            f"{_size(slim.step_bytes * recorded)})"
        )
        if whole.rollout:
            ratio = _rollout_bytes(whole) / _rollout_bytes(slim)
            line += f", {ratio:.1f}x the rollout program's argument + output + temp"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
