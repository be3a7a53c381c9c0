"""Evaluating candidates: check them in the sandbox, train the valid ones in a sandboxed worker.

Both steps skip what is already on disk: a candidate with a stored check is not checked again and one
with stored training results is not trained again, so a resumed run retrains only the batch that was
cut short. The sandbox gets the task as a `TaskRef`, which its children import the task from.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from rewardlab import runfolder
from rewardlab.config import PPOConfig
from rewardlab.runfolder import Candidate, EvalRecord, record
from rewardlab.sandbox import CheckReport, check_static, probe_many, train_in_worker
from rewardlab.search.config import SearchConfig
from rewardlab.store import RunStore
from rewardlab.tasks import Task, TaskRef
from rewardlab.types import RewardProgram, TrainResult


def check(
    store: RunStore, ref: TaskRef, candidates: Sequence[Candidate], mode: str
) -> dict[str, CheckReport]:
    """Check every candidate with code (`mode`: probe or static); reads stored checks where they exist."""
    reports: dict[str, CheckReport] = {}
    todo: list[Candidate] = []
    for c in candidates:
        if c.source is None:
            continue
        stored = runfolder.read_check(store.layout, c)
        if stored is not None:
            reports[c.id] = stored
        else:
            todo.append(c)
    if not todo:
        return reports
    if mode == "probe":
        programs = [RewardProgram(c.id, c.source or "", c.origin) for c in todo]
        fresh = probe_many(ref, programs, workdir=store.layout.probe)
    else:
        fresh = [check_static(c.source or "", c.id) for c in todo]
    for c, rep in zip(todo, fresh, strict=True):
        runfolder.write_check(store.layout, c, rep)
        store.event("checked", id=c.id, ok=rep.ok, failure=rep.kind)
        reports[c.id] = rep
    return reports


def train(
    store: RunStore,
    ref: TaskRef,
    candidates: Sequence[Candidate],
    config: PPOConfig,
    seeds: Sequence[int],
    *,
    timeout_s: float,
    batch_size: int,
    jax_cache_dir: str | None = None,
    on_event: Callable[[Any], None] | None = None,
) -> dict[str, tuple[TrainResult, ...]]:
    """Train the candidates that have no stored results yet, in batches; one result per seed each."""
    out: dict[str, tuple[TrainResult, ...]] = {}
    todo: list[Candidate] = []
    for c in candidates:
        got = runfolder.read_results(store.layout, c)
        if got is not None:
            out[c.id] = got
        else:
            todo.append(c)
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        store.event("train_started", ids=[c.id for c in batch])
        results = train_in_worker(
            ref,
            [RewardProgram(c.id, c.source or "", c.origin) for c in batch],
            config,
            list(seeds),
            run_dir=store.root,
            timeout_s=timeout_s,
            jax_cache_dir=jax_cache_dir or store.layout.jax_cache,
            on_event=on_event,
        )
        for c in batch:
            mine = tuple(r for r in results if r.candidate == c.id)
            runfolder.write_results(store.layout, c, mine)
            fit = [r.max_fitness for r in mine]
            store.event(
                "trained",
                id=c.id,
                status=[r.status for r in mine],
                fitness=[f if math.isfinite(f) else None for f in fit],
                compile_s=max((r.compile_seconds for r in mine), default=0.0),
                train_s=sum(r.train_seconds for r in mine),
            )
            out[c.id] = mine
    return out


def train_programs(
    store: RunStore,
    config: SearchConfig,
    task: Task,
    ref: TaskRef,
    programs: Sequence[RewardProgram],
    seeds: Sequence[int],
) -> list[TrainResult]:
    """Train whole programs (not search candidates) in one sandboxed batch with the search's budget and
    limits: the confirmation and the final evaluation."""
    return train_in_worker(
        ref,
        list(programs),
        config.ppo(task),
        list(seeds),
        run_dir=store.root,
        timeout_s=config.train_timeout_s,
        jax_cache_dir=config.jax_cache_dir or store.layout.jax_cache,
    )


def evaluate(
    store: RunStore,
    ref: TaskRef,
    candidates: Sequence[Candidate],
    *,
    check_mode: str,
    config: PPOConfig,
    seeds: Sequence[int],
    timeout_s: float,
    batch_size: int,
    jax_cache_dir: str | None = None,
    on_check: Callable[[dict[str, CheckReport]], None] | None = None,
    on_event: Callable[[Any], None] | None = None,
) -> list[EvalRecord]:
    """Check, then train the candidates that passed; one `EvalRecord` per candidate, in order."""
    reports = check(store, ref, candidates, check_mode)
    if on_check is not None:
        on_check(reports)
    valid = [c for c in candidates if c.id in reports and reports[c.id].ok]
    results = (
        train(
            store,
            ref,
            valid,
            config,
            seeds,
            timeout_s=timeout_s,
            batch_size=batch_size,
            jax_cache_dir=jax_cache_dir,
            on_event=on_event,
        )
        if valid
        else {}
    )
    return [record(c, reports.get(c.id), results.get(c.id)) for c in candidates]
