"""ELLM vs novelty vs the environment's reward on Crafting-v0: achievements unlocked at a fixed budget.

    nice -n 10 python benchmarks/ellm.py [--seeds 3] [--steps 262144] [--out benchmarks/results]

Arms, each trained with PPO on Crafting-v0 for the same budget and seeds (one batch of the seeds each):

* `sparse`          the environment's reward alone: +1 per achievement unlocked for the first time in
                    an episode (Crafter's reward);
* `sparse+ellm`     plus ELLM's goal reward (`rewardlab.rewards.ellm`): goals from a deterministic
                    scripted "LLM" (the task's rule-based `suggest_goals`, reading only the caption in
                    the prompt), embedded with the bundled all-MiniLM-L6-v2, threshold `--threshold`;
* `sparse+novelty`  plus a count-based novelty bonus `--beta / sqrt(n)`, n the number of times the run
                    has reached that (position, inventory) state, counted over the whole training (a
                    host reward source defined here: the exploration baseline ELLM is compared with);
* `ellm`, `novelty` the intrinsic reward alone, without the environment's (the paper's pretraining
                    setting); not in the default `--arms`.

Reported per arm: achievements per evaluation episode (sampled actions) at the last checkpoint (the task's
fitness; mean and per seed), each achievement's success rate averaged over seeds, wall time and, for
ELLM, the LLM requests made, the calls the caption cache saved and the strings embedded. Also the
embedder's throughput on distinct strings. Writes `ellm.json` and `ellm.txt` to `--out`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from rewardlab.engines import ppo_jax
from rewardlab.llm.scripted import ScriptedBackend
from rewardlab.rewards.ellm import ELLMReward, ELLMSettings
from rewardlab.rewards.embedder import SentenceEmbedder
from rewardlab.rewards.host import Segment
from rewardlab.rewards.program import load_reward_fn
from rewardlab.tasks import registry
from rewardlab.tasks.crafting import ACHIEVEMENTS, suggest_goals

RESULTS = Path(__file__).resolve().parent / "results"


def scripted_llm() -> ScriptedBackend:
    """Answers an ELLM prompt with the rule-based goals for the caption it contains, one per line."""

    def answer(messages: list[dict[str, str]]) -> str:
        caption = messages[-1]["content"].split("What the agent sees and has:\n")[1].split("\n\n")[0]
        return "\n".join(f"- {g}" for g in suggest_goals(caption))

    return ScriptedBackend(answer)


class CountBonus:
    """A count-based novelty bonus, beta / sqrt(visits of the next state's (position, inventory)), per run."""

    def __init__(self, beta: float) -> None:
        self.beta = beta
        self.components = ("novelty",)
        self.counts: dict[tuple[int, ...], dict[bytes, int]] = {}

    def __call__(self, segment: Segment) -> dict[str, np.ndarray]:
        lead = segment.lead
        pos = np.asarray(segment.next_states.pos).reshape(*lead, -1)
        inv = np.asarray(segment.next_states.inventory).reshape(*lead, -1)
        keys = np.concatenate([pos, inv], axis=-1).astype(np.int8)
        out = np.zeros(lead, np.float32)
        run_axes = lead[:-2]
        for idx in np.ndindex(lead):
            table = self.counts.setdefault(idx[: len(run_axes)], {})
            k = keys[idx].tobytes()
            n = table.get(k, 0) + 1
            table[k] = n
            out[idx] = self.beta / np.sqrt(n)
        return {"novelty": out}

    def stats(self) -> dict[str, float]:
        return {"distinct_states": float(sum(len(t) for t in self.counts.values()))}

    def close(self) -> None:
        """Nothing to release."""


def no_reward(state: Any, action: Any, next_state: Any) -> tuple[float, dict]:
    """The code part of the intrinsic-only arms (the paper's pretraining setting): nothing."""
    return 0.0, {}


def rates(result: Any) -> dict[str, float]:
    metrics = result.checkpoints[-1].eval_metrics
    return {a: float(metrics[f"rate_{a}"]) for a in ACHIEVEMENTS}


def embedder_throughput(embedder: SentenceEmbedder, n: int = 256) -> float:
    """Distinct strings encoded per second (after one warm-up batch)."""
    embedder.encode(["warm up"] * 8)
    texts = [f"You see a tree and water. You have {i} wood and {i % 7} stone." for i in range(n)]
    t = time.perf_counter()
    embedder.encode(texts)
    return n / (time.perf_counter() - t)


def env_speed(n_envs: int = 256, n_steps: int = 1000) -> dict[str, float]:
    """Random-policy steps/s of Crafting-v0 for `n_envs` environments, resetting after every step as the
    engine does (the reset is computed every step and selected where an episode ended), and the compile
    time of that program."""
    import jax
    import jax.numpy as jnp

    env = registry.get("Crafting-v0").env
    n_actions = env.action_spec.n

    def one(key):
        k0, k1 = jax.random.split(key)
        _, state = env.reset(k0)

        def body(s, k):
            ka, ks, kr = jax.random.split(k, 3)
            st = env.step(ks, s, jax.random.randint(ka, (), 0, n_actions))
            _, fresh = env.reset(kr)
            done = st.terminated | st.truncated
            return jax.tree.map(lambda a, b: jnp.where(done, a, b), fresh, st.state), st.env_reward

        return jax.lax.scan(body, state, jax.random.split(k1, n_steps))[1].sum()

    run = jax.jit(lambda key: jax.vmap(one)(jax.random.split(key, n_envs)))
    t = time.perf_counter()
    returns = run(jax.random.PRNGKey(0)).block_until_ready()
    first = time.perf_counter() - t
    times = []
    for k in range(3):
        t = time.perf_counter()
        run(jax.random.PRNGKey(k + 1)).block_until_ready()
        times.append(time.perf_counter() - t)
    run_s = statistics.median(times)
    episodes = n_steps / env.max_episode_steps  # every episode runs to the time limit
    return {
        "steps_per_s": n_envs * n_steps / run_s, "compile_s": first - run_s, "n_envs": n_envs,
        "random_achievements": float(np.mean(np.asarray(returns))) / episodes,
    }


GOALS_BY_TRANSITION = {
    "You collected wood.": "collect wood",
    "You drank water.": "drink water",
    "You placed a table.": "place a table",
    "You made a wood pickaxe.": "make a wood pickaxe",
    "You made a wood sword.": "make a wood sword",
    "You collected stone.": "collect stone",
    "You placed stone.": "place stone",
    "You made a stone pickaxe.": "make a stone pickaxe",
    "You collected coal.": "collect coal",
    "You placed a furnace.": "place a furnace",
    "You collected iron.": "collect iron",
    "You made an iron pickaxe.": "make an iron pickaxe",
}
"""Crafting-v0's transition captions and the scripted suggester's goal for the same achievement."""


def similarity_table(embedder: SentenceEmbedder) -> list[str]:
    """Each transition caption's cosine similarity to its own goal and to the closest other goal."""
    captions, goals = list(GOALS_BY_TRANSITION), list(GOALS_BY_TRANSITION.values())
    sims = embedder.encode(captions) @ embedder.encode(goals).T
    lines = [
        "| transition caption | its goal | similarity | closest other goal | similarity |",
        "|---|---|---|---|---|",
    ]
    for i, caption in enumerate(captions):
        other = max((j for j in range(len(goals)) if j != i), key=lambda j: sims[i, j])
        lines.append(
            f"| {caption} | {goals[i]} | {sims[i, i]:.2f} | {goals[other]} | {sims[i, other]:.2f} |"
        )
    return lines


def speed_only() -> int:
    speed = env_speed()
    embedder = SentenceEmbedder()
    print("\n".join(similarity_table(embedder)))
    rate = embedder_throughput(embedder)
    print(
        f"Crafting-v0 random policy, {speed['n_envs']} envs with a reset every step: "
        f"{speed['steps_per_s']:,.0f} steps/s (median of 3), compile {speed['compile_s']:.1f} s, "
        f"{speed['random_achievements']:.2f} achievements per episode; "
        f"embedder (all-MiniLM-L6-v2, CPU): {rate:.0f} distinct strings/s"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=262_144)
    p.add_argument("--threshold", type=float, default=0.6)
    p.add_argument("--beta", type=float, default=0.1)
    p.add_argument("--arms", default="sparse,sparse+ellm,sparse+novelty")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--speed-only", action="store_true", help="only the environment's and embedder's speed")
    args = p.parse_args(argv)
    if args.speed_only:
        return speed_only()
    task = registry.get("Crafting-v0")
    cfg = dataclasses.replace(task.ppo, total_timesteps=args.steps)
    seeds = list(range(args.seeds))
    sparse = load_reward_fn(task.sparse)
    embedder = SentenceEmbedder()
    rows: dict[str, dict] = {}
    for arm in args.arms.split(","):
        host: list[Any] = []
        code = sparse if arm.startswith("sparse") else no_reward
        if arm.endswith("ellm"):
            host = [ELLMReward(
                task.caption, scripted_llm(), embedder, setting=task.description,
                settings=ELLMSettings(threshold=args.threshold),
            )]
        elif arm.endswith("novelty"):
            host = [CountBonus(args.beta)]
        elif arm != "sparse":
            raise SystemExit(f"unknown arm {arm}")
        t = time.perf_counter()
        if host:
            results = ppo_jax.train_fns(task, [(arm, code)], cfg, seeds, host=host, pad_single=False)
        else:
            results = ppo_jax.train(task, [task.sparse], cfg, seeds)
        wall = time.perf_counter() - t
        failed = [r.message for r in results if not r.ok]
        if failed:
            raise SystemExit(f"{arm}: {failed[0]}")
        per_seed = [rates(r) for r in results]
        rows[arm] = {
            "achievements": [round(r.final_fitness, 3) for r in results],
            "best": [round(r.max_fitness, 3) for r in results],
            "rates": {a: round(statistics.mean(s[a] for s in per_seed), 3) for a in ACHIEVEMENTS},
            "wall_s": round(wall, 1),
            "compile_s": round(results[0].compile_seconds, 1),
            "train_s": round(results[0].train_seconds, 1),
            "host": {k: v for k, v in results[0].extra.get("host_rewards", {}).items()},
        }
        print(f"{arm}: {rows[arm]['achievements']} in {wall:.0f} s", file=sys.stderr, flush=True)
    throughput = embedder_throughput(embedder)

    header = (
        f"Crafting-v0, {args.steps:,} steps per run, seeds {seeds[0]}-{seeds[-1]}; achievements unlocked per "
        f"evaluation episode (of {len(ACHIEVEMENTS)}, actions sampled from the policy), last checkpoint"
    )
    lines = [header, "", "| arm | achievements, mean | per seed | wall s |", "|---|---|---|---|"]
    for arm, row in rows.items():
        lines.append(
            f"| {arm} | {statistics.mean(row['achievements']):.2f} | "
            f"{' '.join(f'{a:.2f}' for a in row['achievements'])} | {row['wall_s']:.0f} |"
        )
    lines += ["", "success rate per achievement (mean over seeds)", ""]
    lines.append("| achievement | " + " | ".join(rows) + " |")
    lines.append("|---" * (len(rows) + 1) + "|")
    for a in ACHIEVEMENTS:
        lines.append(f"| {a} | " + " | ".join(f"{row['rates'][a]:.2f}" for row in rows.values()) + " |")
    ellm = rows.get("sparse+ellm", {}).get("host", {}).get("ellm")
    if ellm:
        lines += [
            "",
            f"ELLM cost over the {len(seeds)} runs: {ellm['steps']:,} steps, {ellm['events']:,} did "
            f"something (needed goals), {ellm['requests']:,} LLM requests ({ellm['captions']:,} distinct "
            f"captions), {ellm['llm_calls_saved']:,} calls saved by the caption cache, "
            f"{ellm['strings_embedded']} strings embedded; host time {ellm['caption_seconds']:.1f} s "
            f"captioning, {ellm['llm_seconds']:.1f} s asking, {ellm['embed_seconds']:.1f} s embedding",
        ]
    lines.append(f"embedder (all-MiniLM-L6-v2, CPU): {throughput:.0f} distinct strings/s")
    text = "\n".join(lines)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/ellm.py " + " ".join(sys.argv[1:] if argv is None else argv)
    (args.out / "ellm.txt").write_text(f"{command}\n\n{text}\n", encoding="utf-8")
    payload = {
        "command": command, "steps": args.steps, "seeds": seeds, "threshold": args.threshold,
        "beta": args.beta, "embedder_strings_per_s": round(throughput, 1), "rows": rows,
    }
    (args.out / "ellm.json").write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
