"""Evaluating candidates: check them in the sandbox, train the valid ones in a sandboxed worker.

Both steps skip what is already on disk: a candidate with `check.json` is not checked again and one
with `result.json` is not trained again, so a resumed run retrains only the batch that was cut short.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from rewardlab.config import PPOConfig
from rewardlab.sandbox import CheckReport, check_static, probe_many, train_in_worker
from rewardlab.search.records import Candidate, EvalRecord
from rewardlab.store import RunStore, read_json
from rewardlab.types import RewardProgram, TrainResult


def check(
    store: RunStore, task_name: str, candidates: Sequence[Candidate], mode: str
) -> dict[str, CheckReport]:
    """Check every candidate with code (`mode`: probe or static); reads `check.json` where it exists."""
    reports: dict[str, CheckReport] = {}
    todo: list[Candidate] = []
    for c in candidates:
        if c.source is None:
            continue
        path = store.candidate_dir(c.restart, c.iteration, c.index) / "check.json"
        if path.exists():
            reports[c.id] = CheckReport.from_dict(read_json(path))
        else:
            todo.append(c)
    if not todo:
        return reports
    if mode == "probe":
        workdir = store.root / "probe"
        fresh = probe_many(
            task_name, [RewardProgram(c.id, c.source or "", c.origin) for c in todo], workdir=workdir
        )
    else:
        fresh = [check_static(c.source or "", c.id) for c in todo]
    for c, rep in zip(todo, fresh, strict=True):
        store.write_json(store.candidate_dir(c.restart, c.iteration, c.index) / "check.json", rep.to_dict())
        store.event("checked", id=c.id, ok=rep.ok, failure=rep.kind)
        reports[c.id] = rep
    return reports


def read_results(store: RunStore, cand: Candidate) -> tuple[TrainResult, ...] | None:
    path = store.candidate_dir(cand.restart, cand.iteration, cand.index) / "result.json"
    if not path.exists():
        return None
    return tuple(TrainResult.from_dict(d) for d in read_json(path)["results"])


def train(
    store: RunStore,
    task_name: str,
    candidates: Sequence[Candidate],
    config: PPOConfig,
    seeds: Sequence[int],
    *,
    timeout_s: float,
    batch_size: int,
    jax_cache_dir: str | None = None,
    on_event: Callable[[Any], None] | None = None,
) -> dict[str, tuple[TrainResult, ...]]:
    """Train the candidates that have no `result.json` yet, in batches; one result per seed each."""
    out: dict[str, tuple[TrainResult, ...]] = {}
    todo: list[Candidate] = []
    for c in candidates:
        got = read_results(store, c)
        if got is not None:
            out[c.id] = got
        else:
            todo.append(c)
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        store.event("train_started", ids=[c.id for c in batch])
        results = train_in_worker(
            task_name,
            [RewardProgram(c.id, c.source or "", c.origin) for c in batch],
            config,
            list(seeds),
            run_dir=store.root,
            timeout_s=timeout_s,
            jax_cache_dir=jax_cache_dir,
            on_event=on_event,
        )
        for c in batch:
            mine = tuple(r for r in results if r.candidate == c.id)
            store.write_json(
                store.candidate_dir(c.restart, c.iteration, c.index) / "result.json",
                {"results": [r.to_dict() for r in mine]},
            )
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
    store: RunStore, config: Any, task: Any, programs: Sequence[RewardProgram], seeds: Sequence[int]
) -> list[TrainResult]:
    """Train whole programs (not search candidates) in one sandboxed batch with the search's budget and
    limits: the confirmation and the final evaluation."""
    return train_in_worker(
        task.name,
        list(programs),
        config.ppo(task.ppo),
        list(seeds),
        run_dir=store.root,
        timeout_s=config.train_timeout_s,
        jax_cache_dir=config.jax_cache_dir,
    )


def record(
    cand: Candidate, check_report: CheckReport | None, results: tuple[TrainResult, ...] | None
) -> EvalRecord:
    """The one record of a candidate, from whatever steps it reached."""
    if cand.source is None:
        return EvalRecord(cand, "no_code", message=cand.extract_reason or "no code in the reply")
    if check_report is None or not check_report.ok:
        msg = check_report.message if check_report is not None else "not checked"
        return EvalRecord(cand, "check_failed", check=check_report, message=msg)
    if results is None:
        return EvalRecord(cand, "train_failed", check=check_report, message="not trained")
    bad = [r for r in results if r.status != "ok" or not math.isfinite(r.max_fitness)]
    if bad:
        r = bad[0]
        msg = f"{r.status}: {r.message}" if r.message else f"status {r.status}"
        return EvalRecord(cand, "train_failed", check=check_report, results=results, message=msg)
    return EvalRecord(cand, "ok", check=check_report, results=results)


def evaluate(
    store: RunStore,
    task_name: str,
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
    reports = check(store, task_name, candidates, check_mode)
    if on_check is not None:
        on_check(reports)
    valid = [c for c in candidates if c.id in reports and reports[c.id].ok]
    results = (
        train(
            store,
            task_name,
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
