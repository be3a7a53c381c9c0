"""LLM judge vs ground-truth reward on the Ultimatum game (Kwon et al. 2023's first experiment, our port).

    nice -n 10 python benchmarks/judge.py [--seeds 5] [--steps 4096] [--flip 0.2] [--out benchmarks/results]

Arms, each trained with PPO on Ultimatum-v0 (objective: accept only offers of at least 30 % of the
coins) for the same budget and seeds:

* `human`        the objective written as a code reward (the ground truth, compiled);
* `sparse`       the environment's payoff (coins received), for reference: it teaches "accept all";
* `judge-oracle` an LLM judge whose "LLM" (the scripted backend) answers from the true objective;
* `judge-noisy`  the same with each answer flipped with probability `--flip` (its own draw per seed;
  each description is asked once per training, so a flipped label stays flipped, as with a cached
  real LLM).

Reported per arm: the greedy policy's agreement with the objective (the task's fitness, averaged over
the 11 offers) at the last checkpoint, median and per seed; for the judges the label accuracy (share
of the distinct descriptions the judge labelled whose label matches the objective), the LLM requests
made, the episodes judged (requests saved = episodes - requests), and a second oracle training on the
same cache folder to show what a rerun costs. Writes `judge.json` and `judge.txt` to `--out`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rewardlab.engines import ppo_jax
from rewardlab.llm.scripted import ScriptedBackend
from rewardlab.rewards.judge import JudgeReward, Objective
from rewardlab.tasks import registry
from rewardlab.tasks.ultimatum import OBJECTIVE, min_offer

RESULTS = Path(__file__).resolve().parent / "results"


def truth(description: str) -> bool:
    """Whether a described Ultimatum episode meets the objective (the oracle's answer)."""
    k = int(re.search(r"offered me (\d+) of", description).group(1))
    return (k >= min_offer(0.3)) == ("I accepted" in description)


def episode_text(messages: list[dict[str, str]]) -> str:
    return messages[-1]["content"].split("The episode to judge:")[1].split("Does this episode")[0].strip()


def oracle_backend() -> ScriptedBackend:
    return ScriptedBackend(lambda msgs: "Yes" if truth(episode_text(msgs)) else "No")


def noisy_backend(flip: float, seed: int) -> ScriptedBackend:
    rng = random.Random(seed)

    def answer(msgs: list[dict[str, str]]) -> str:
        ok = truth(episode_text(msgs))
        if rng.random() < flip:
            ok = not ok
        return "Yes" if ok else "No"

    return ScriptedBackend(answer)


def no_code(state, action, next_state):
    return 0.0, {}


def label_accuracy(judge: JudgeReward) -> float:
    labelled = [(text, v) for text, v in judge.answers.items() if v is not None]
    return sum(v == truth(text) for text, v in labelled) / max(len(labelled), 1)


def judged(task, cfg, seeds, backend, cache: Path | None) -> tuple[list, JudgeReward, float]:
    """One judge shared by the runs of `seeds` (no padded twin: only real episodes are judged)."""
    judge = JudgeReward(Objective(OBJECTIVE), task.describe_episode, backend, cache_dir=cache)
    t = time.perf_counter()
    results = ppo_jax.train_fns(task, [("judge", no_code)], cfg, seeds, host=[judge], pad_single=False)
    return results, judge, time.perf_counter() - t


def timing(results) -> dict[str, float]:
    r = results[0]
    return {
        "compile_s": round(r.compile_seconds, 1),
        "train_s": round(r.train_seconds, 1),
        "host_s": r.extra.get("host_seconds", 0.0),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--steps", type=int, default=4096)
    p.add_argument("--flip", type=float, default=0.2)
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    task = registry.get("Ultimatum-v0")
    cfg = dataclasses.replace(task.ppo, total_timesteps=args.steps)
    seeds = list(range(args.seeds))
    rows: dict[str, dict] = {}

    def finals(results) -> list[float]:
        return [round(r.final_fitness, 3) for r in results]

    for name in ("human", "sparse"):  # one batch of the seeds each, like each judge arm below
        t = time.perf_counter()
        rs = ppo_jax.train(task, [task.baseline(name)], cfg, seeds)
        rows[name] = {"agreement": finals(rs), "wall_s": round(time.perf_counter() - t, 1), **timing(rs)}

    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "judge_cache"
        results, judge, wall = judged(task, cfg, seeds, oracle_backend(), cache)
        rows["judge-oracle"] = {
            "agreement": finals(results),
            "label_accuracy": label_accuracy(judge),
            **judge.stats(),
            "wall_s": round(wall, 1),
            **timing(results),
        }
        rerun, judge2, wall = judged(task, cfg, seeds, oracle_backend(), cache)
        rows["judge-oracle, rerun on its cache"] = {
            "agreement": finals(rerun),
            "label_accuracy": label_accuracy(judge2),
            **judge2.stats(),
            "wall_s": round(wall, 1),
            **timing(rerun),
        }

    noisy: list = []
    stats: list[dict] = []
    accs: list[float] = []
    times: list[dict] = []
    for s in seeds:
        results, judge, _ = judged(task, cfg, [s], noisy_backend(args.flip, s), None)
        noisy += results
        stats.append(judge.stats())
        accs.append(label_accuracy(judge))
        times.append(timing(results))
    rows[f"judge-noisy ({args.flip:.0%} flipped)"] = {
        "agreement": finals(noisy),
        "label_accuracy": round(statistics.mean(accs), 3),
        "label_accuracy_per_seed": [round(a, 3) for a in accs],
        "requests": sum(st["requests"] for st in stats),
        "episodes": sum(st["episodes"] for st in stats),
        "cache_hits": 0,
        "compile_s": times[0]["compile_s"],
        "train_s": round(sum(t["train_s"] for t in times), 1),
        "host_s": round(sum(t["host_s"] for t in times), 3),
    }

    header = (
        f"Ultimatum-v0, {args.steps:,} steps per run, seeds {seeds[0]}-{seeds[-1]}; agreement = greedy "
        "policy vs objective over the 11 offers (final checkpoint)"
    )
    lines = [
        header,
        "",
        "| arm | agreement, median | per seed | label accuracy | LLM requests | episodes judged | "
        "answers from disk cache | train s (of it in the judge) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        acc = row.get("label_accuracy")
        lines.append(
            f"| {name} | {statistics.median(row['agreement']):.3g} | "
            f"{' '.join(f'{a:.3g}' for a in row['agreement'])} | "
            f"{'' if acc is None else f'{acc:.3g}'} | {row.get('requests', '')} | "
            f"{row.get('episodes', '')} | {row.get('cache_hits', '')} | "
            f"{row['train_s']:.3g} ({row['host_s']:.2g}) |"
        )
    text = "\n".join(lines)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/judge.py " + " ".join(sys.argv[1:] if argv is None else argv)
    (args.out / "judge.txt").write_text(f"{command}\n\n{text}\n", encoding="utf-8")
    payload = {"command": command, "steps": args.steps, "seeds": seeds, "flip": args.flip, "rows": rows}
    (args.out / "judge.json").write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
