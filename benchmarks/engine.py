"""Engine benchmark: rewardlab's JAX PPO against stable-baselines3 PPO, side by side in one run.

Part A (`--part solve`): time-to-solve and env steps/s on CartPole-v1 (475), Pendulum-v1 (-200) and
Acrobot-v1 (-100), judged the same way for both libraries: every `--eval-every` steps the greedy policy
plays `--eval-episodes` episodes and the run counts as solved when their mean environment return
reaches the threshold. Timers cover training only (evaluation and, for JAX, compilation excluded;
compile time is reported separately). SB3 uses rl-baselines3-zoo's tuned hyper-parameters, one torch
thread and DummyVecEnv (the fastest SB3 setup on small CPUs). Our runs use each task's defaults, one
run per call (`pad_single=False`: the raw single-candidate path).

Part B (`--part scale`): our engine on CartPole at 1, 4 and 16 different reward candidates x 1 and 3
seeds, each batch one compiled program; compile time from a cold compilation cache and run time.

Part C (`--part sb3`): the `sb3` engine (stable-baselines3 under rewardlab's reward wrapper) on
`--sb3-env` (default `gymnasium:CartPole-v1`; also `gymnasium:InvertedPendulum-v5`, MuJoCo) with the
environment's own reward as the reward program, against plain SB3 with the same hyper-parameters
(`rewardlab.engines.sb3.sb3_arguments` of the task's PPOConfig, same seeds, same evaluation episodes) and,
on CartPole, against the `ppo_jax` engine on the gymnax CartPole-v1 with the same PPOConfig. The runs of
each seed are interleaved, so machine load hits both alike. The wrapper's overhead is the share of the
sb3 engine's training time that plain SB3 does not spend (1 - t_plain / t_sb3, training time only,
evaluation excluded); learning-curve parity is the fitness (mean evaluation episode length: both tasks'
fitness) at each checkpoint of both SB3 runs.

Part D (`--part sb3-pairs`): the same overhead measured in one process, robust to machine load: the sb3
engine's model and plain SB3's alternately train `--pair-updates` PPO updates, `--pairs` times.

Run: python benchmarks/engine.py            (parts A and B; ~10-15 min on a 2-core laptop)
     python benchmarks/engine.py --part sb3 --sb3-steps 32768 --seeds 2
     python benchmarks/engine.py --part sb3 --sb3-env gymnasium:InvertedPendulum-v5 --seeds 10
     python benchmarks/engine.py --part sb3-pairs --sb3-env gymnasium:CartPole-v1 --pairs 30
     python benchmarks/engine.py --part solve --tasks CartPole-v1 --seeds 2
Requires the `bench` extra (stable-baselines3, torch CPU).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

THRESHOLDS = {"CartPole-v1": 475.0, "Pendulum-v1": -200.0, "Acrobot-v1": -100.0}
# rl-baselines3-zoo hyper-parameters (hyperparams/ppo.yml), with a step budget for the benchmark.
SB3_ZOO = {
    "CartPole-v1": dict(
        n_envs=8,
        budget=150_000,
        normalize=False,
        kwargs=dict(
            n_steps=32,
            batch_size=256,
            gae_lambda=0.8,
            gamma=0.98,
            n_epochs=20,
            ent_coef=0.0,
            learning_rate="lin_0.001",
            clip_range="lin_0.2",
        ),
    ),
    "Pendulum-v1": dict(
        n_envs=4,
        budget=200_000,
        normalize=False,
        kwargs=dict(
            n_steps=1024,
            gae_lambda=0.95,
            gamma=0.9,
            n_epochs=10,
            ent_coef=0.0,
            learning_rate=1e-3,
            clip_range=0.2,
            use_sde=True,
            sde_sample_freq=4,
        ),
    ),
    "Acrobot-v1": dict(
        n_envs=16,
        budget=300_000,
        normalize=True,
        kwargs=dict(n_steps=256, gae_lambda=0.94, gamma=0.99, n_epochs=4, ent_coef=0.0),
    ),
}
# Our runs: the environment's own reward as a reward program (parity-tested in tests/test_tasks.py).
OUR_ENV_REWARD = {"CartPole-v1": "sparse", "Pendulum-v1": "human", "Acrobot-v1": "human"}


def _linear(text):
    if isinstance(text, str) and text.startswith("lin_"):
        v = float(text[4:])
        return lambda progress: progress * v
    return text


# --- part A: ours ------------------------------------------------------------------------------------


def ours_solve(task_name: str, seed: int, eval_every: int, eval_episodes: int) -> dict:
    from rewardlab import tasks
    from rewardlab.engines import ppo_jax

    task = tasks.get(task_name)
    cfg = task.ppo
    n_cp = max(1, cfg.total_timesteps // eval_every)
    cfg = dataclasses.replace(cfg, n_checkpoints=n_cp, eval_episodes=eval_episodes)
    program = task.baseline(OUR_ENV_REWARD[task_name])
    res = ppo_jax.train(task, [program], cfg, seeds=[seed], pad_single=False)[0]
    solved = next((c for c in res.checkpoints if c.eval_metrics["env_return"] >= THRESHOLDS[task_name]), None)
    return {
        "lib": "rewardlab-jax",
        "task": task_name,
        "seed": seed,
        "solved": solved is not None,
        "steps_to_solve": solved.step if solved else None,
        "seconds_to_solve": solved.seconds if solved else None,
        "steps": res.env_steps,
        "train_seconds": res.train_seconds,
        "steps_per_second": res.env_steps / res.train_seconds,
        "compile_seconds": res.compile_seconds,
        "final_return": res.checkpoints[-1].eval_metrics["env_return"],
    }


# --- part A: stable-baselines3 -----------------------------------------------------------------------


def sb3_solve(task_name: str, seed: int, eval_every: int, eval_episodes: int) -> dict:
    import gymnasium as gym
    import numpy as np
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    torch.set_num_threads(1)
    zoo = SB3_ZOO[task_name]
    env = make_vec_env(task_name, n_envs=zoo["n_envs"], seed=seed)
    if zoo["normalize"]:
        env = VecNormalize(env, gamma=zoo["kwargs"].get("gamma", 0.99))
    kwargs = {k: _linear(v) for k, v in zoo["kwargs"].items()}
    model = PPO("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **kwargs)
    eval_env = gym.make(task_name)

    def evaluate() -> float:
        returns = []
        for ep in range(eval_episodes):
            obs, _ = eval_env.reset(seed=10_000 * seed + ep)
            done, total = False, 0.0
            while not done:
                o = env.normalize_obs(obs) if zoo["normalize"] else obs
                action, _ = model.predict(o, deterministic=True)
                obs, r, term, trunc, _ = eval_env.step(action)
                total += float(r)
                done = term or trunc
            returns.append(total)
        return float(np.mean(returns))

    class Timer(BaseCallback):
        def __init__(self):
            super().__init__()
            self.train_s, self.t, self.next_eval = 0.0, None, eval_every
            self.solved_at, self.returns = None, []

        def _on_training_start(self):
            self.t = time.perf_counter()

        def _on_step(self) -> bool:
            if self.num_timesteps < self.next_eval:
                return True
            self.train_s += time.perf_counter() - self.t
            self.next_eval += eval_every
            ret = evaluate()
            self.returns.append((self.num_timesteps, ret))
            self.t = time.perf_counter()
            if ret >= THRESHOLDS[task_name]:
                self.solved_at = (self.num_timesteps, self.train_s)
                return False
            return True

        def _on_training_end(self):
            if self.solved_at is None:
                self.train_s += time.perf_counter() - self.t

    cb = Timer()
    model.learn(total_timesteps=zoo["budget"], callback=cb)
    steps = cb.solved_at[0] if cb.solved_at else model.num_timesteps
    return {
        "lib": "sb3",
        "task": task_name,
        "seed": seed,
        "solved": cb.solved_at is not None,
        "steps_to_solve": cb.solved_at[0] if cb.solved_at else None,
        "seconds_to_solve": cb.solved_at[1] if cb.solved_at else None,
        "steps": steps,
        "train_seconds": cb.train_s,
        "steps_per_second": steps / cb.train_s,
        "compile_seconds": 0.0,
        "final_return": cb.returns[-1][1] if cb.returns else None,
    }


def part_solve(task_names, seeds, eval_every, eval_episodes) -> list[dict]:
    rows = []
    for name in task_names:
        for seed in seeds:  # interleave the libraries so machine load hits both alike
            for fn in (ours_solve, sb3_solve):
                row = fn(name, seed, eval_every, eval_episodes)
                rows.append(row)
                print(json.dumps(row), flush=True)
    print("\n== time to solve (training seconds; median over seeds) ==")
    print(
        f"{'task':14s} {'lib':14s} {'solved':>6s} {'steps':>9s} {'seconds':>8s} "
        f"{'steps/s':>9s} {'compile':>8s}"
    )
    summary = {}
    for name in task_names:
        med = {}
        for lib in ("rewardlab-jax", "sb3"):
            rs = [r for r in rows if r["task"] == name and r["lib"] == lib]
            solved = [r for r in rs if r["solved"]]
            m = {
                "solved": f"{len(solved)}/{len(rs)}",
                "steps": statistics.median([r["steps_to_solve"] for r in solved]) if solved else None,
                "seconds": statistics.median([r["seconds_to_solve"] for r in solved]) if solved else None,
                "sps": statistics.median([r["steps_per_second"] for r in rs]),
                "compile": statistics.median([r["compile_seconds"] for r in rs]),
            }
            med[lib] = m
            print(
                f"{name:14s} {lib:14s} {m['solved']:>6s} {_fmt(m['steps'], 0):>9s} "
                f"{_fmt(m['seconds'], 2):>8s} "
                f"{m['sps']:>9.0f} {m['compile']:>8.1f}"
            )
        a, b = med["rewardlab-jax"], med["sb3"]
        speed = b["seconds"] / a["seconds"] if a["seconds"] and b["seconds"] else None
        sps = a["sps"] / b["sps"]
        summary[name] = {"time_to_solve_ratio": speed, "steps_per_second_ratio": sps}
        print(f"{name:14s} ratio (SB3 / ours): time-to-solve {_fmt(speed, 1)}x, env steps/s {sps:.1f}x")
    rows.append({"summary": summary})
    return rows


def _fmt(x, digits):
    return "-" if x is None else f"{x:.{digits}f}"


# --- part B: scaling over candidates x seeds ---------------------------------------------------------


def _variants(task, n: int):
    """n different reward programs: the human reward with its penalty weights rescaled."""
    from rewardlab.types import RewardProgram

    out = []
    for i in range(n):
        scale = 0.5 + i / max(1, n - 1)
        src = task.human.source.replace("0.01 * jnp.abs", f"{0.01 * scale:.5f} * jnp.abs").replace(
            "0.005 * jnp.abs", f"{0.005 / scale:.5f} * jnp.abs"
        )
        out.append(RewardProgram(f"variant_{i:02d}", src))
    return out


def part_scale(steps: int) -> list[dict]:
    from rewardlab import tasks
    from rewardlab.engines import ppo_jax

    task = tasks.get("CartPole-v1")
    cfg = dataclasses.replace(task.ppo, total_timesteps=steps, n_checkpoints=2)
    rows = []
    for n_cand in (1, 4, 16):
        for n_seeds in (1, 3):
            res = ppo_jax.train(task, _variants(task, n_cand), cfg, seeds=list(range(n_seeds)))
            r0 = res[0]
            n_runs = n_cand * n_seeds
            row = {
                "candidates": n_cand,
                "seeds": n_seeds,
                "runs": n_runs,
                "compile_seconds": r0.compile_seconds,
                "train_seconds": r0.train_seconds,
                "steps_per_second_total": n_runs * r0.env_steps / r0.train_seconds,
                "median_fitness": statistics.median(r.final_fitness for r in res),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(
        f"\n== one compiled program per batch (CartPole-v1, {steps} steps per run, cold compile cache) =="
    )
    print(
        f"{'cands':>5s} {'seeds':>5s} {'runs':>4s} {'compile s':>9s} {'train s':>8s} {'steps/s total':>13s}"
    )
    for r in rows:
        print(
            f"{r['candidates']:>5d} {r['seeds']:>5d} {r['runs']:>4d} {r['compile_seconds']:>9.1f} "
            f"{r['train_seconds']:>8.1f} {r['steps_per_second_total']:>13.0f}"
        )
    c1 = next(r for r in rows if r["candidates"] == 1 and r["seeds"] == 1)["compile_seconds"]
    c16 = next(r for r in rows if r["candidates"] == 16 and r["seeds"] == 1)["compile_seconds"]
    print(f"compile(16 candidates) / compile(1 candidate) = {c16 / c1:.2f}x")
    rows.append({"summary": {"compile_ratio_16_vs_1": c16 / c1}})
    return rows


# --- part C: the sb3 engine ---------------------------------------------------------------------------


def _plain_sb3(task, cfg, seed: int) -> dict:
    """Plain SB3 with the sb3 engine's arguments: same envs, seeds, VecNormalize and evaluation episodes."""
    import gymnasium as gym
    import numpy as np
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.logger import Logger
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from rewardlab.engines.sb3 import sb3_arguments, total_steps

    torch.set_num_threads(1)
    env_id = task.name.split(":", 1)[1]
    venv = DummyVecEnv([lambda: gym.make(env_id) for _ in range(cfg.num_envs)])
    if cfg.normalize_obs or cfg.normalize_reward:
        venv = VecNormalize(
            venv, norm_obs=cfg.normalize_obs, norm_reward=cfg.normalize_reward, gamma=cfg.gamma
        )
    model = PPO("MlpPolicy", venv, seed=seed, verbose=0, device="cpu", **sb3_arguments(cfg))
    model.set_logger(Logger(folder=None, output_formats=[]))
    total = total_steps(cfg)
    per_cp = total // cfg.n_checkpoints
    evals = [gym.make(env_id) for _ in range(cfg.eval_episodes)]

    def evaluate(index: int) -> float:
        lengths = []
        for i, env in enumerate(evals):  # the sb3 engine's evaluation seeds
            obs, _ = env.reset(seed=seed * 100_003 + 10_000 + 101 * index + i)
            done, n = False, 0
            while not done:
                o = venv.normalize_obs(obs) if cfg.normalize_obs else obs
                action, _ = model.predict(o, deterministic=cfg.eval_greedy)
                if isinstance(env.action_space, gym.spaces.Box):  # as the engine's evaluation does
                    action = np.clip(action, env.action_space.low, env.action_space.high)
                obs, _, term, trunc, _ = env.step(action)
                n += 1
                done = term or trunc
            lengths.append(n)
        return float(np.mean(lengths))

    class Curve(BaseCallback):
        def __init__(self):
            super().__init__()
            self.t, self.train_s, self.fitness = time.perf_counter(), 0.0, []

        def _on_step(self) -> bool:
            return True

        def _on_rollout_start(self) -> None:
            self.train_s += time.perf_counter() - self.t
            done = self.model.num_timesteps
            if done and done % per_cp == 0 and done < total:
                self.fitness.append(evaluate(len(self.fitness)))
            self.t = time.perf_counter()

    cb = Curve()
    model.learn(total_timesteps=total, callback=cb)
    cb.train_s += time.perf_counter() - cb.t
    cb.fitness.append(evaluate(len(cb.fitness)))
    return {"lib": "sb3-plain", "seed": seed, "train_seconds": cb.train_s, "fitness": cb.fitness,
            "steps_per_second": total / cb.train_s}


def part_sb3(steps: int, seeds: list[int], env: str = "gymnasium:CartPole-v1") -> list[dict]:
    from rewardlab import engines, tasks

    gym_task = tasks.get(env)
    jax_task = tasks.get("CartPole-v1") if env == "gymnasium:CartPole-v1" else None
    cfg = dataclasses.replace(gym_task.ppo, total_timesteps=steps, n_checkpoints=4, eval_episodes=8)
    rows = []
    for seed in seeds:  # interleaved, so that machine load hits every engine alike
        (ours,) = engines.get("sb3").train(gym_task, [gym_task.human], cfg, seeds=[seed])
        row = {"lib": "rewardlab-sb3", "seed": seed, "train_seconds": ours.train_seconds,
               "fitness": [c.fitness for c in ours.checkpoints],
               "steps_per_second": steps / ours.train_seconds}
        rows.append(row)
        print(json.dumps(row), flush=True)
        rows.append(_plain_sb3(gym_task, cfg, seed))
        print(json.dumps(rows[-1]), flush=True)
        if jax_task is None:
            continue
        (jx,) = engines.get("ppo_jax").train(jax_task, [jax_task.sparse], cfg, seeds=[seed])
        rows.append({"lib": "rewardlab-jax", "seed": seed, "train_seconds": jx.train_seconds,
                     "compile_seconds": jx.compile_seconds, "fitness": [c.fitness for c in jx.checkpoints],
                     "steps_per_second": steps / jx.train_seconds})
        print(json.dumps(rows[-1]), flush=True)
    print(f"\n== {env}, {steps} steps per run, {len(seeds)} seeds, the env reward (medians); "
          f"load average {os.getloadavg()} ==")
    print(f"{'engine':14s} {'train s':>8s} {'steps/s':>8s} {'max fitness':>11s} {'final':>6s}  "
          f"curve (seed {seeds[0]})")
    med = {}
    for lib in ("rewardlab-sb3", "sb3-plain", "rewardlab-jax"):
        rs = [r for r in rows if r["lib"] == lib]
        if not rs:
            continue
        med[lib] = m = {
            "train_seconds": statistics.median(r["train_seconds"] for r in rs),
            "steps_per_second": statistics.median(r["steps_per_second"] for r in rs),
            "max_fitness": statistics.median(max(r["fitness"]) for r in rs),
            "final_fitness": statistics.median(r["fitness"][-1] for r in rs),
        }
        print(f"{lib:14s} {m['train_seconds']:>8.1f} {m['steps_per_second']:>8.0f} {m['max_fitness']:>11.1f} "
              f"{m['final_fitness']:>6.1f}  {rs[0]['fitness']}")
    wrapped = [r for r in rows if r["lib"] == "rewardlab-sb3"]
    plain = [r for r in rows if r["lib"] == "sb3-plain"]
    overhead = statistics.median(
        1.0 - b["train_seconds"] / a["train_seconds"] for a, b in zip(wrapped, plain, strict=True)
    )
    same = all(a["fitness"] == b["fitness"] for a, b in zip(wrapped, plain, strict=True))
    ratios = sorted(1.0 - b["train_seconds"] / a["train_seconds"]
                    for a, b in zip(wrapped, plain, strict=True))
    print(f"reward-wrapper overhead (median over seeds of 1 - t_plain / t_sb3): {100 * overhead:.1f} % "
          f"of training time (per seed, sorted: {', '.join(f'{100 * r:.1f}' for r in ratios)} %)")
    print(f"sb3 engine and plain SB3 learning curves identical at every checkpoint: {same}")
    rows.append({"summary": {"overhead": overhead, "identical_curves": same, "medians": med}})
    return rows


def part_sb3_pairs(env: str, pairs: int, updates: int) -> list[dict]:
    """The wrapper's overhead measured in one process: the sb3 engine's model and plain SB3's, built once,
    alternately `learn` `updates` PPO updates each (the order flips every pair), so that both runs of a
    pair meet the same machine load; training only, no evaluation. Robust where whole runs are not. Both
    wall-clock and process CPU time are recorded: on a loaded machine the CPU time leaves out the time the
    process waited for a core, the closest measure there is of what wall time would be on an idle one."""
    import gymnasium as gym
    import jax.numpy as jnp
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.logger import Logger
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from rewardlab import tasks
    from rewardlab.engines.ppo_jax import prepare_rewards
    from rewardlab.engines.sb3 import compiled_reward, sb3_arguments, training_env
    from rewardlab.rewards.program import load_reward_fn

    torch.set_num_threads(1)
    task = tasks.get(env)
    cfg, adapter = task.ppo, task.env
    sample = (adapter.template(), adapter.action_spec.zero_action(), adapter.template(), jnp.float32(0.0))
    (prepared,) = prepare_rewards(task, [("human", load_reward_fn(task.human))], sample)
    width = max(1, len(prepared.components))
    ours_env = training_env(adapter, cfg, compiled_reward(prepared, width), width)
    plain_env = DummyVecEnv([lambda: gym.make(env.split(":", 1)[1]) for _ in range(cfg.num_envs)])
    if cfg.normalize_obs or cfg.normalize_reward:
        plain_env = VecNormalize(plain_env, norm_obs=cfg.normalize_obs, norm_reward=cfg.normalize_reward,
                                 gamma=cfg.gamma)
    models = {}
    for lib, venv in (("rewardlab-sb3", ours_env.venv), ("sb3-plain", plain_env)):
        models[lib] = PPO("MlpPolicy", venv, seed=0, verbose=0, device="cpu", **sb3_arguments(cfg))
        models[lib].set_logger(Logger(folder=None, output_formats=[]))
    callbacks = {"rewardlab-sb3": ours_env.rewards, "sb3-plain": None}
    steps = updates * cfg.num_envs * cfg.num_steps

    def learn(lib: str) -> tuple[float, float]:
        t, c = time.perf_counter(), time.process_time()
        models[lib].learn(total_timesteps=steps, callback=callbacks[lib], reset_num_timesteps=False)
        return time.perf_counter() - t, time.process_time() - c

    learn("rewardlab-sb3"), learn("sb3-plain")  # compiles and warms up; not timed
    rows = []
    for i in range(pairs):
        order = ("rewardlab-sb3", "sb3-plain") if i % 2 == 0 else ("sb3-plain", "rewardlab-sb3")
        t = {lib: learn(lib) for lib in order}
        ours, plain = t["rewardlab-sb3"], t["sb3-plain"]
        rows.append({"pair": i, "steps": steps, "wall": {k: v[0] for k, v in t.items()},
                     "cpu": {k: v[1] for k, v in t.items()},
                     "overhead_wall": 1.0 - plain[0] / ours[0], "overhead_cpu": 1.0 - plain[1] / ours[1]})
        print(json.dumps(rows[-1]), flush=True)
    print(f"\n== {env}: {pairs} pairs of {steps} training steps each, the env reward; "
          f"load average {os.getloadavg()} ==")
    summary = {}
    for clock in ("wall", "cpu"):
        over = [r[f"overhead_{clock}"] for r in rows]
        q = statistics.quantiles(over, n=4)
        summary[clock] = {"overhead": statistics.median(over), "quartiles": [q[0], q[2]]}
        med = {lib: statistics.median(r[clock][lib] for r in rows) for lib in ("rewardlab-sb3", "sb3-plain")}
        print(f"reward-wrapper overhead, {clock} time (1 - t_plain / t_sb3): median "
              f"{100 * statistics.median(over):.1f} % (quartiles {100 * q[0]:.1f} %, {100 * q[2]:.1f} %); "
              f"median seconds per run: sb3 engine {med['rewardlab-sb3']:.2f}, plain {med['sb3-plain']:.2f}")
    rows.append({"summary": summary})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=("solve", "scale", "sb3", "sb3-pairs", "all"), default="all")
    ap.add_argument("--tasks", nargs="+", default=list(THRESHOLDS))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--eval-every", type=int, default=4096)
    ap.add_argument("--eval-episodes", type=int, default=10)
    ap.add_argument("--scale-steps", type=int, default=100_000)
    ap.add_argument("--sb3-steps", type=int, default=32_768)
    ap.add_argument("--sb3-env", default="gymnasium:CartPole-v1",
                    help="the Gymnasium task of part C (its fitness must be the mean episode length)")
    ap.add_argument("--pairs", type=int, default=30, help="part sb3-pairs: alternations")
    ap.add_argument("--pair-updates", type=int, default=2, help="part sb3-pairs: PPO updates per run")
    ap.add_argument("--out", default=None, help="write all rows as JSON here")
    args = ap.parse_args()
    # Compile times are measured cold: a fresh, empty persistent cache for this process.
    os.environ["REWARDLAB_JAX_CACHE"] = tempfile.mkdtemp(prefix="bench-jax-cache-")
    rows: list[dict] = []
    t = time.perf_counter()
    if args.part in ("solve", "all"):
        rows += part_solve(args.tasks, list(range(args.seeds)), args.eval_every, args.eval_episodes)
    if args.part in ("scale", "all"):
        rows += part_scale(args.scale_steps)
    if args.part == "sb3":
        rows += part_sb3(args.sb3_steps, list(range(args.seeds)), args.sb3_env)
    if args.part == "sb3-pairs":
        rows += part_sb3_pairs(args.sb3_env, args.pairs, args.pair_updates)
    print(f"\nbenchmark wall time {time.perf_counter() - t:.0f} s; load average {os.getloadavg()}")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
