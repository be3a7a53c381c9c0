"""The final evaluation: the winner and the Sparse and Human baselines, retrained on fresh seeds.

All three train in one sandboxed worker batch with the same engine, PPO config and seeds, so the
human-normalised score compares like with like. The result is `final/results.json`; a resumed run
that finds it does not train again.
"""

from __future__ import annotations

from typing import Any

from rewardlab.search.config import SearchConfig
from rewardlab.search.evaluate import train_programs
from rewardlab.search.progress import Progress
from rewardlab.search.records import EvalRecord
from rewardlab.store import RunStore, read_json
from rewardlab.types import RewardProgram

FINAL_SEED_BASE = 1000


def final_evaluation(
    store: RunStore,
    config: SearchConfig,
    task: Any,
    best: EvalRecord | None,
    progress: Progress | None = None,
    confirmed: float | None = None,
) -> dict[str, Any]:
    """Train the winner, Human and Sparse on `final_seeds` fresh seeds. `confirmed`: the winner's mean
    fitness in the confirmation step (recorded next to its search fitness)."""
    path = store.final_dir / "results.json"
    if path.exists():
        return read_json(path)
    seeds = [FINAL_SEED_BASE + config.seed + k for k in range(config.final_seeds)]
    programs = [
        RewardProgram("human", task.human.source, "human"),
        RewardProgram("sparse", task.sparse.source, "sparse"),
    ]
    if best is not None and best.candidate.source is not None:
        programs.insert(0, RewardProgram("method", best.candidate.source, best.candidate.origin))
        store.write_text(store.final_dir / "method.py", best.candidate.source)
    if progress is not None:
        progress.update(phase=f"final evaluation ({len(programs)} rewards x {len(seeds)} seeds)")
    store.event("final_started", programs=[p.name for p in programs], seeds=seeds)
    results = train_programs(store, config, task, programs, seeds)
    data = {
        "seeds": seeds,
        "method": (
            {"candidate": best.candidate.id, "search_fitness": best.fitness, "confirm_fitness": confirmed}
            if best
            else None
        ),
        "results": {p.name: [r.to_dict() for r in results if r.candidate == p.name] for p in programs},
    }
    store.write_json(path, data)
    store.event("final_done")
    return data
