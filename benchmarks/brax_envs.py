"""Compile time and stepping speed of the Brax/MJX tasks through rewardlab's adapter, random actions.

For each task: one program (`jax.jit` of `vmap` over environments of a `lax.scan` over steps) that resets,
steps with uniform random actions in [-1, 1], resets each environment whose episode ended (as the engine
does), and counts finished episodes and non-finite rewards. Prints the compile time, then the median of
`--repeats` timed runs as environment steps per second. Run it with nothing else of yours on the machine;
on a shared machine the numbers move with the load, so compare tasks within one run.

    python benchmarks/brax_envs.py --envs 256 --steps 200 --repeats 3
    python benchmarks/brax_envs.py Ant-Brax --backend generalized
"""

from __future__ import annotations

import argparse
import statistics
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tasks", nargs="*", default=["Ant-Brax", "Hopper-Brax", "Humanoid-Brax"])
    ap.add_argument("--envs", type=int, default=256, help="environments stepped together (default 256)")
    ap.add_argument("--steps", type=int, default=200, help="steps per environment per run (default 200)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs after the compile (default 3)")
    ap.add_argument("--backend", help="another Brax physics backend than the tasks' mjx (generalized, ...)")
    args = ap.parse_args(argv)

    import jax
    import jax.numpy as jnp

    from rewardlab import tasks
    from rewardlab.tasks.rollout import random_action

    platform = jax.devices()[0].platform
    from rewardlab.tasks.brax import BraxAdapter

    print(f"jax {jax.__version__} on {platform}; {args.envs} envs x {args.steps} steps per run")
    print("| task | backend | compile s | steps/s (median) | episodes ended | non-finite rewards |")
    print("|---|---|---|---|---|---|")
    for name in args.tasks:
        env = tasks.get(name).env
        if args.backend:
            env = BraxAdapter(env.env_name, backend=args.backend)
        spec = env.action_spec

        def one_env(key, env=env, spec=spec):
            k_reset, k_run = jax.random.split(key)
            _, state = env.reset(k_reset)

            def step(carry, k):
                state, ended, bad = carry
                k_a, k_s, k_r = jax.random.split(k, 3)
                out = env.step(k_s, state, random_action(k_a, spec))
                done = out.terminated | out.truncated
                _, fresh = env.reset(k_r)
                state = jax.tree.map(lambda r, s: jnp.where(done, r, s), fresh, out.state)
                return (state, ended + done, bad + ~jnp.isfinite(out.env_reward)), None

            zero = jnp.int32(0)
            (_, ended, bad), _ = jax.lax.scan(step, (state, zero, zero), jax.random.split(k_run, args.steps))
            return ended, bad

        keys = jax.random.split(jax.random.PRNGKey(0), args.envs)
        t0 = time.perf_counter()
        fn = jax.jit(jax.vmap(one_env)).lower(keys).compile()
        compile_s = time.perf_counter() - t0
        rates = []
        for i in range(args.repeats):
            run_keys = jax.random.split(jax.random.PRNGKey(i + 1), args.envs)
            t0 = time.perf_counter()
            ended, bad = jax.block_until_ready(fn(run_keys))
            rates.append(args.envs * args.steps / (time.perf_counter() - t0))
        print(
            f"| {name} | {env.backend} | {compile_s:.0f} | {statistics.median(rates):,.0f} | "
            f"{int(ended.sum())} | {int(bad.sum())} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
