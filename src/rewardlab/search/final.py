"""The final evaluation: the winner and the Sparse and Human baselines, retrained on fresh seeds.

All three train in one batch (`batch_size` permitting) through the run's evaluator, with the same
engine, PPO config and seeds, so the human-normalised score compares like with like. The baselines
are the task's own reward objects (renamed only), so a baseline that exists as a callable (a user
task's success indicator) trains by its role in the worker. The result is the `FinalResults`
record; a resumed run that finds it does not train again.
"""

from __future__ import annotations

import dataclasses

from rewardlab import runfolder
from rewardlab.executors import Evaluator
from rewardlab.runfolder import EvalRecord, FinalResults, MethodInfo
from rewardlab.search.config import SearchConfig
from rewardlab.search.evaluate import train_programs
from rewardlab.search.progress import Progress
from rewardlab.store import RunStore
from rewardlab.tasks import Task, TaskRef
from rewardlab.types import RewardProgram

FINAL_SEED_BASE = 1000


def final_evaluation(
    store: RunStore,
    config: SearchConfig,
    task: Task,
    ref: TaskRef,
    best: EvalRecord | None,
    progress: Progress | None = None,
    confirmed: float | None = None,
    evaluator: Evaluator | None = None,
) -> FinalResults:
    """Train the winner, Human and Sparse on `final_seeds` fresh seeds. `confirmed`: the winner's mean
    fitness in the confirmation step (recorded next to its search fitness)."""
    done = runfolder.read_final(store.layout)
    if done is not None:
        return done
    seeds = [FINAL_SEED_BASE + config.seed + k for k in range(config.final_seeds)]
    programs = [
        dataclasses.replace(task.human, name="human"),
        dataclasses.replace(task.sparse, name="sparse"),
    ]
    if best is not None and best.candidate.source is not None:
        programs.insert(0, RewardProgram("method", best.candidate.source, best.candidate.origin))
        runfolder.write_method(store.layout, best.candidate.source)
    if progress is not None:
        progress.update(phase=f"final evaluation ({len(programs)} rewards x {len(seeds)} seeds)")
    store.event("final_started", programs=[p.name for p in programs], seeds=seeds)
    results = train_programs(store, config, task, ref, programs, seeds, evaluator)
    final = FinalResults(
        seeds=tuple(seeds),
        method=MethodInfo(best.candidate.id, best.fitness, confirmed) if best else None,
        results={p.name: tuple(r for r in results if r.candidate == p.name) for p in programs},
    )
    runfolder.write_final(store.layout, final)
    store.event("final_done")
    return final
