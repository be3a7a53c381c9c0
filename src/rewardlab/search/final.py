"""The final evaluation: the winner, the Sparse and Human baselines and any `--baseline` specs, retrained
on fresh seeds.

The code rewards train in one batch (`batch_size` permitting) through the run's evaluator, with the same
engine, PPO config and seeds, so the human-normalised score compares like with like. The baselines
are the task's own reward objects (renamed only), so a baseline that exists as a callable (a user
task's success indicator) trains by its role in the worker. Host baselines (`search.baselines`: an LLM
judge, ELLM, VLM-RM) then train one spec at a time in this process, on the same seeds, budget and
config. Each step's rows go to `final/partial.json` as soon as they are trained, so a killed run trains
only what is missing; the complete `FinalResults` record replaces it, and a resumed run that finds it
does not train again.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rewardlab import runfolder
from rewardlab.executors import Evaluator
from rewardlab.runfolder import EvalRecord, FinalResults, MethodInfo
from rewardlab.search import baselines
from rewardlab.search.config import SearchConfig
from rewardlab.search.evaluate import train_programs
from rewardlab.search.host_specs import RewardSpec, build_sources, train_spec
from rewardlab.search.progress import Progress
from rewardlab.store import RunStore
from rewardlab.tasks import Task, TaskRef
from rewardlab.types import RewardProgram, TrainResult

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
    """Train the winner, Human, Sparse and the host baselines on `final_seeds` fresh seeds. `confirmed`:
    the winner's mean fitness in the confirmation step (recorded next to its search fitness)."""
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
    method = None
    if best is not None:
        same = best.candidate.source is not None and same_code(best.candidate.source, task.human.source)
        method = MethodInfo(best.candidate.id, best.fitness, confirmed, same_as_human=same)
    specs = baselines.baseline_specs(config)
    rows = _trained_rows(store, seeds, method)
    names = [p.name for p in programs] + [s.text for s in specs]
    store.event("final_started", programs=names, seeds=seeds, already_trained=sorted(rows))
    todo = [p for p in programs if p.name not in rows]
    if todo:
        if progress is not None:
            progress.update(phase=f"final evaluation ({len(todo)} rewards x {len(seeds)} seeds)")
        results = train_programs(store, config, task, ref, todo, seeds, evaluator, stage="final")
        rows.update({p.name: tuple(r for r in results if r.candidate == p.name) for p in todo})
        runfolder.write_final_partial(store.layout, FinalResults(tuple(seeds), method, rows))
        store.event("final_code_done", names=[p.name for p in todo])
    for spec in specs:
        if spec.text in rows:
            continue
        if progress is not None:
            progress.update(phase=f"final evaluation: {spec.text} x {len(seeds)} seeds, in this process")
        rows[spec.text] = tuple(_train_baseline(store, config, task, spec, seeds))
        runfolder.write_final_partial(store.layout, FinalResults(tuple(seeds), method, rows))
        store.event("final_baseline_done", name=spec.text)
    final = FinalResults(seeds=tuple(seeds), method=method, results={n: rows[n] for n in names})
    runfolder.write_final(store.layout, final)
    store.layout.final_partial.unlink(missing_ok=True)
    store.event("final_done")
    return final


def same_code(a: str, b: str) -> bool:
    """Whether two reward sources are the same program: formatting and comments do not count (the
    canonical text the run folder dedupes candidates by)."""
    return runfolder.canonical_source(a) == runfolder.canonical_source(b)


def _trained_rows(store: RunStore, seeds: list[int], method: MethodInfo | None) -> dict[str, tuple]:
    """Rows a killed run already trained on these seeds (the winner's only if it is the same winner)."""
    partial = runfolder.read_final_partial(store.layout)
    if partial is None or list(partial.seeds) != seeds:
        return {}
    rows = dict(partial.results)
    same_winner = (partial.method and partial.method.candidate) == (method and method.candidate)
    if not same_winner:
        rows.pop("method", None)
    return rows


def _train_baseline(
    store: RunStore, config: SearchConfig, task: Task, spec: RewardSpec, seeds: list[int]
) -> list[TrainResult]:
    """One host baseline in this process. An error (an LLM endpoint that stopped answering) stops the
    run; `rewardlab resume` then trains only the rows still missing."""
    sources = build_sources(spec, task, baselines.options(config, store.layout))
    code = None if spec.code is None else task.baseline(spec.code)
    keep: dict[str, Any] = {}
    if config.warm_start:  # like every other training of the search
        from rewardlab.engines.warm_start import WarmStart

        keep["warm_start"] = WarmStart.load(store.layout.warm_start)
    return train_spec(task, spec, code, sources, config.ppo(task), seeds, **keep)
