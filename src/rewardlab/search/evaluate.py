"""Evaluating candidates: check them in the sandbox, train the valid ones through an `Evaluator`.

Both steps skip what is already on disk: a candidate with a stored check is not checked again and one
with stored training results is not trained again, so a resumed run retrains only the batch that was
cut short. The sandbox gets the task as a `TaskRef`, which its children import the task from. Training
goes through the run's evaluator (`evaluator_for`: the local sandboxed worker, or Ray tasks running the
same sandboxed child); the checks always run here, on the driver, in its sandbox.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rewardlab import runfolder
from rewardlab.config import PPOConfig
from rewardlab.engines.halving import Halving
from rewardlab.executors import Batch, Evaluator, LocalEvaluator, Request, request
from rewardlab.runfolder import Candidate, EvalRecord, record
from rewardlab.sandbox import CheckReport, check_static, probe_many
from rewardlab.sandbox.cost import reward_calls, slow_verdict
from rewardlab.search.config import SearchConfig
from rewardlab.store import RunStore
from rewardlab.tasks import Task, TaskRef
from rewardlab.types import RewardProgram, TrainResult


def check(
    store: RunStore,
    ref: TaskRef,
    candidates: Sequence[Candidate],
    mode: str,
    speed: tuple[float, float | None] | None = None,
) -> dict[str, CheckReport]:
    """Check every candidate with code (`mode`: probe or static); reads stored checks where they exist.

    `speed` is (reward calls per training run, training time limit in seconds): a probed reward whose
    calls alone would outlast the limit fails here (`sandbox.cost`) instead of stalling its batch."""
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
        if speed is not None:
            fresh = [slow_verdict(rep, *speed) for rep in fresh]
    else:
        fresh = [check_static(c.source or "", c.id) for c in todo]
    for c, rep in zip(todo, fresh, strict=True):
        runfolder.write_check(store.layout, c, rep)
        store.event("checked", id=c.id, ok=rep.ok, failure=rep.kind)
        reports[c.id] = rep
    return reports


def evaluator_for(config: SearchConfig, task: Task, store: RunStore) -> Evaluator:
    """The evaluator `config.executor` names: the local sandboxed worker writing under the run folder,
    or Ray tasks with the resources `config` and the task ask for (Ray is imported only then)."""
    if config.executor == "local":
        return LocalEvaluator(store.root)
    from rewardlab.executors.ray_cluster import RayEvaluator

    return RayEvaluator(ray_request(config, task), address=config.ray_address, retries=config.ray_retries)


def ray_request(config: SearchConfig, task: Task) -> Request:
    """What one batch asks a Ray node for: the config's ray_* fields and the task's hardware."""
    return request(
        cpus=config.ray_cpus,
        gpus=config.ray_gpus,
        memory_mb=config.ray_memory_mb,
        practical_on=task.practical_on,
    )


def preflight(config: SearchConfig, task: Task) -> None:
    """Fail now (ExecutorUnavailable, one line) if the executor cannot run a batch: before any LLM call."""
    if config.executor == "ray":
        from rewardlab.executors.ray_cluster import check_fits, connect

        connect(config.ray_address)
        check_fits(ray_request(config, task))


def batches(
    ref: TaskRef,
    programs: Sequence[RewardProgram],
    config: PPOConfig,
    seeds: Sequence[int],
    *,
    timeout_s: float | None,
    batch_size: int,
    jax_cache_dir: str | None,
    warm_start: str | None = None,
    halving: Halving | None = None,
) -> list[Batch]:
    """`programs` cut into batches of `batch_size`, each trained on every seed (and halved inside, with
    `halving`)."""
    return [
        Batch(ref, tuple(programs[k : k + batch_size]), config, tuple(int(s) for s in seeds), timeout_s,
              jax_cache_dir, warm_start, halving)
        for k in range(0, len(programs), batch_size)
    ]


def warm_start_file(store: RunStore, config: SearchConfig) -> str | None:
    """The run folder's copy of the `--warm-start` state every training starts from, if there is one."""
    return str(store.layout.warm_start) if config.warm_start else None


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
    evaluator: Evaluator | None = None,
    warm_start: str | None = None,
    halving: Halving | None = None,
) -> dict[str, tuple[TrainResult, ...]]:
    """Train the candidates that have no stored results yet, in batches; one result per seed each.

    A candidate whose every seed a worker delivered (`worker/job-*/results.json`) under the same job
    settings (`JobMatch`), all runs ok, but whose results the search never recorded (it was killed in
    between) is taken from there, not trained again (a `runs_recovered` event).
    The batches go to `evaluator` together (default: the local worker, one after another) and each
    batch's results are written as soon as it finishes, so a killed run keeps every finished batch.
    With `halving` each batch is halved inside (`engines.halving`): a dropped candidate's results are
    ordinary results that stop early (`halved_at` in the "trained" event), so a resumed run reads them
    like any other and never retrains them.
    """
    out: dict[str, tuple[TrainResult, ...]] = {}
    todo: list[Candidate] = []
    for c in candidates:
        got = runfolder.read_results(store.layout, c)
        if got is not None:
            out[c.id] = got
        else:
            todo.append(c)
    programs = {c.id: RewardProgram(c.id, c.source or "", c.origin) for c in todo}
    if todo:  # runs a worker finished while this search's earlier process was being killed
        job = JobMatch(ref, config, warm_start, halving)
        delivered = delivered_runs(store.layout.worker, job, list(programs.values()), seeds)
        whole = [c for c in todo if all((c.id, int(s)) in delivered for s in seeds)]
        for c in whole:  # a candidate trains all its seeds in one batch: only a complete set is taken
            out[c.id] = tuple(delivered[(c.id, int(s))] for s in seeds)
            runfolder.write_results(store.layout, c, out[c.id])
        if whole:
            store.event("runs_recovered", stage="iteration", ids=[c.id for c in whole],
                        runs=len(whole) * len(seeds))
        todo = [c for c in todo if c.id not in out]
    if not todo:
        return out
    by_name = {c.id: c for c in todo}
    work = batches(
        ref,
        [programs[c.id] for c in todo],
        config,
        seeds,
        timeout_s=timeout_s,
        batch_size=batch_size,
        jax_cache_dir=jax_cache_dir or str(store.layout.jax_cache),
        warm_start=warm_start,
        halving=halving,
    )

    def started(i: int) -> None:
        store.event("train_started", ids=list(work[i].names))

    for i, outcome in (evaluator or LocalEvaluator(store.root, resident=False)).run(work, on_event, started):
        for name in work[i].names:
            c = by_name[name]
            mine = tuple(r for r in outcome.results if r.candidate == c.id)
            runfolder.write_results(store.layout, c, mine)
            fit = [r.max_fitness for r in mine]
            store.event(
                "trained",
                id=c.id,
                status=[r.status for r in mine],
                fitness=[f if math.isfinite(f) else None for f in fit],
                compile_s=max((r.compile_seconds for r in mine), default=0.0),
                train_s=sum(r.train_seconds for r in mine),
                node=outcome.node,
                **_halved(mine),
            )
            out[c.id] = mine
    return out


def _halved(results: Sequence[TrainResult]) -> dict[str, Any]:
    """The "trained" event's fields for a candidate that successive halving stopped: the env step each
    seed stopped at and the env steps it used (nothing for a candidate trained to the end)."""
    stops = [r.extra.get("halved_at") for r in results]
    if not any(s is not None for s in stops):
        return {}
    return {"halved_at": stops, "env_steps": [r.env_steps for r in results]}


def train_programs(
    store: RunStore,
    config: SearchConfig,
    task: Task,
    ref: TaskRef,
    programs: Sequence[RewardProgram],
    seeds: Sequence[int],
    evaluator: Evaluator | None = None,
    *,
    stage: str | None = None,
) -> list[TrainResult]:
    """Train whole programs (not search candidates) with the search's budget and limits, handed to
    `evaluator` together: the confirmation and the final evaluation. Results in program-major order, as
    one batch would give them.

    With `stage` (`confirm-0`, `final`), each batch's results are written to the run folder
    (`Layout.trained`) as soon as it finishes, and runs found there (same program text, same seed) are
    not trained again: a search killed in the middle of a confirmation or final evaluation cut into
    several batches resumes with the batches that had not finished.

    A batch never holds more runs (programs x seeds) than an iteration's batch (the smaller of `batch_size`
    and `samples`, x `seeds`): larger sets are cut by seeds (and by programs if need be), so every batch
    of the search has the same number of runs after padding and uses the programs the iterations compiled
    (a batch of another size compiles the engine's programs afresh: ~30-50 s on a 2-core CPU, 83 s for
    Ant-Brax on an H200, more than its training)."""
    folder = store.layout.trained(stage) if stage else None
    sources = {p.name: p.source for p in programs}

    def keep(r: TrainResult) -> None:
        got[(r.candidate, r.seed)] = r
        if folder is not None:
            path = folder / _run_file(r.candidate, sources[r.candidate], r.seed)
            runfolder.write_json_atomic(path, r.to_dict())

    got = _stored_runs(folder, programs, seeds)
    if folder is not None:  # runs a worker finished while this search's earlier process was being killed
        job = JobMatch(ref, config.ppo(task), warm_start_file(store, config), None)
        recovered = [r for key, r in delivered_runs(store.layout.worker, job, programs, seeds).items()
                     if key not in got]
        for r in recovered:
            keep(r)
        if recovered:
            store.event("runs_recovered", stage=stage, ids=sorted({r.candidate for r in recovered}),
                        runs=len(recovered))
    todo = [s for s in seeds if any((p.name, int(s)) not in got for p in programs)]
    runs = max(1, min(config.batch_size, config.samples) * config.seeds)
    per_batch = max(1, min(len(programs), runs))
    seed_chunk = max(1, runs // per_batch)
    work: list[Batch] = []
    for k in range(0, len(todo), seed_chunk):
        chunk = todo[k : k + seed_chunk]
        missing = [p for p in programs if any((p.name, int(s)) not in got for s in chunk)]
        work += batches(
            ref,
            missing,
            config.ppo(task),
            chunk,
            timeout_s=config.train_timeout_s,
            batch_size=per_batch,
            jax_cache_dir=config.jax_cache_dir or str(store.layout.jax_cache),
            warm_start=warm_start_file(store, config),
        )
    if work:
        for _, outcome in (evaluator or LocalEvaluator(store.root, resident=False)).run(work):
            for r in outcome.results:
                keep(r)
    return [got[(p.name, int(s))] for p in programs for s in seeds]


def _run_file(name: str, source: str, seed: int) -> str:
    """One stored run's file name: the program's name, a digest of its text (a resumed search may have
    another winner under the name "method"), the seed."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    return f"{name}-{digest}-{int(seed)}.json"


@dataclasses.dataclass(frozen=True)
class JobMatch:
    """What a worker's job must have been given for its runs to stand for the runs asked for now: the
    same task reference (its file's hash included), PPO settings (budget, checkpoints), warm-start file
    and halving rungs. Program text and seed are matched per run."""

    ref: TaskRef
    config: PPOConfig
    warm_start: str | None
    halving: Halving | None

    def as_job(self) -> dict[str, Any]:
        """These settings as the worker spells them in `job.json` (after a JSON round trip)."""
        return json.loads(json.dumps({
            "task": self.ref.to_dict(),
            "config": dataclasses.asdict(self.config),
            "warm_start": str(Path(self.warm_start).resolve()) if self.warm_start else None,
            "halving": self.halving.to_dict() if self.halving is not None else None,
        }))


def delivered_runs(
    worker: Path, job: JobMatch, programs: Sequence[RewardProgram], seeds: Sequence[int]
) -> dict[tuple[str, int], TrainResult]:
    """Runs of these programs and seeds that a sandboxed worker delivered (its job folder holds
    `results.json`) under the settings `job` names, but that the search never recorded: its process was
    killed between the worker's last write and its own. Only successful runs are taken (a failed one
    trains again). A job naming none of the programs is skipped before its results are read."""
    if not worker.is_dir():
        return {}
    want = {(p.name, p.source) for p in programs}
    seed_set = {int(s) for s in seeds}
    settings = job.as_job()
    out: dict[tuple[str, int], TrainResult] = {}
    for folder in sorted(worker.glob("job-*")):
        try:
            spec = runfolder.read_json(folder / "job.json")
            sources = {c.get("name"): c.get("source") for c in spec.get("candidates", [])}
            if not any(item in want for item in sources.items()):
                continue
            if any(spec.get(k) != v for k, v in settings.items()):
                continue
            results = runfolder.read_json(folder / "results.json")["results"]
            for data in results:
                name, seed = data.get("candidate"), int(data.get("seed", -1))
                if (name, sources.get(name)) in want and seed in seed_set and data.get("status") == "ok":
                    out[(name, seed)] = TrainResult.from_dict(data)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, runfolder.RunFolderError):
            continue  # a job that never finished, or was cut off while writing
    return out


def _stored_runs(
    folder: Path | None, programs: Sequence[RewardProgram], seeds: Sequence[int]
) -> dict[tuple[str, int], TrainResult]:
    """The runs of these programs and seeds that an earlier process of this search finished."""
    if folder is None or not folder.is_dir():
        return {}
    out = {}
    for p in programs:
        for s in seeds:
            path = folder / _run_file(p.name, p.source, int(s))
            if path.exists():
                out[(p.name, int(s))] = TrainResult.from_dict(runfolder.read_json(path))
    return out


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
    evaluator: Evaluator | None = None,
    episode_steps: int | None = None,
    warm_start: str | None = None,
    halving: Halving | None = None,
) -> list[EvalRecord]:
    """Check, then train the candidates that passed; one `EvalRecord` per candidate, in order.
    `episode_steps` (the task's episode limit) lets the probe refuse rewards too slow to train;
    `halving` halves each training batch inside (`SearchConfig.halving`: iterations only)."""
    speed = (reward_calls(config, episode_steps), timeout_s) if episode_steps is not None else None
    reports = check(store, ref, candidates, check_mode, speed)
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
            evaluator=evaluator,
            warm_start=warm_start,
            halving=halving,
        )
        if valid
        else {}
    )
    return [record(c, reports.get(c.id), results.get(c.id)) for c in candidates]
