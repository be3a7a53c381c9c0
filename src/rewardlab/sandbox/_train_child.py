"""Training child: `python -m rewardlab.sandbox._train_child JOB_DIR` trains one batch of candidates.

Reads `job.json` (task reference, engine name, PPO config, seeds, candidates, and optionally a saved
training state to start every run from, `warm_start`, `save_policies`, and the rungs of successive
halving, `halving`), hardens itself, imports the task from its reference (the user's own file or module
included) and the engine (`engine`, or the task's own `Task.engine` when the job names none),
re-applies the static policy, loads every program with the restricted loader and calls the engine's
`train_fns` once for the whole batch. A
candidate marked `task_reward` is the task's own human/sparse baseline, taken from the task itself.
Progress goes to `progress.jsonl` (one JSON object per line, appended), results to `results.json`
(written atomically at the end), saved training states (with `save_policies`) to `policies/`, all in the
job folder. The parent never reads stdout.

`python -m rewardlab.sandbox._train_child --serve SERVE_DIR` is the long-lived form (`sandbox.resident`):
it reads `serve.json` (task reference, engine, limits, cache), hardens itself and imports the task and
engine once, then trains one job after another, each named by a line on stdin (the absolute path of
a job folder the parent made), exactly as above, until stdin closes. The engine's compiled reward-free
programs stay in memory from one job to the next, which is the point. The audit hook lets each job
write only inside its own folder (and the cache, HOME and TMPDIR), so nothing of one batch can touch
another batch's files.

For tests of the parent's stall watchdog only: with REWARDLAB_TEST_HANG_AFTER_PROGRESS=N in its
environment the child blocks forever right after writing its N-th progress line of a job, as it does
when XLA's CPU runtime hangs inside a chunk (the main thread waits, nothing more is written).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rewardlab.sandbox.guard import (
    exit_with_parent,
    harden,
    install_audit_hook,
    read_json,
    start_backends,
    write_json_atomic,
)
from rewardlab.sandbox.report import Limits

HANG_ENV = "REWARDLAB_TEST_HANG_AFTER_PROGRESS"
SERVE_FLAG = "--serve"


def main(job_dir: Path) -> int:
    job = read_json(job_dir / "job.json")
    loaded = _start(job)
    if isinstance(loaded, int):
        return loaded
    task, engine = loaded
    install_audit_hook([job_dir] + ([job["jax_cache_dir"]] if job.get("jax_cache_dir") else []))
    run_job(job, job_dir, task, engine)
    return 0


def serve(serve_dir: Path) -> int:
    """Train the jobs named on stdin, one after another, until stdin closes (see the module docstring)."""
    spec = read_json(serve_dir / "serve.json")
    loaded = _start(spec)
    if isinstance(loaded, int):
        return loaded
    task, engine = loaded
    fixed = [serve_dir / "home", serve_dir / "tmp"]
    fixed += [spec["jax_cache_dir"]] if spec.get("jax_cache_dir") else []
    set_roots = install_audit_hook(fixed)
    for line in sys.stdin:
        name = line.strip()
        if not name:
            continue
        job_dir = Path(name)  # an absolute path, made by the parent
        set_roots([*fixed, job_dir])  # this job's folder only: not the folders of earlier or later jobs
        job = read_json(job_dir / "job.json")
        run_job(job, job_dir, task, engine)
        set_roots(fixed)
        print(f"done {name}", flush=True)
    return 0


def _start(spec: dict[str, Any]) -> tuple[Any, Any] | int:
    """Harden this process (limits from `spec`, death with the parent), then (task, engine) from a job's or
    a server's spec, or the exit code after a one-line error."""
    harden(Limits.from_dict(spec["limits"]), file_size_mb=1024)
    exit_with_parent()
    from rewardlab import engines
    from rewardlab.tasks.ref import TaskRefError, load

    try:
        task = load(spec["task"])  # before the audit hook: importing writes nothing, but may open files
    except TaskRefError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    try:  # importing the engine (torch for sb3) also happens before the audit hook
        engine = engines.get(spec.get("engine") or task.engine)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    # Everything a job imports later is imported here, before any candidate text is compiled.
    import rewardlab.engines.halving
    import rewardlab.rewards.program
    import rewardlab.sandbox.errors
    import rewardlab.sandbox.restricted
    import rewardlab.sandbox.static  # noqa: F401

    start_backends()  # a GPU plugin loads its libraries through ctypes, which the audit hook refuses
    return task, engine


def run_job(job: dict[str, Any], job_dir: Path, task: Any, engine: Any) -> None:
    """Check, load and train one job's candidates; `results.json` in `job_dir` holds one result per
    (candidate, seed), an error result for a candidate that failed its checks."""
    from rewardlab.config import PPOConfig
    from rewardlab.rewards.program import load_reward_fn
    from rewardlab.sandbox.errors import classify_exception
    from rewardlab.sandbox.restricted import ProgramLoadError, load_untrusted
    from rewardlab.sandbox.static import check_static
    from rewardlab.types import TrainResult

    config = _config_from_dict(PPOConfig, job["config"]) if job.get("config") else None
    seeds = [int(s) for s in job["seeds"]]
    failed: dict[str, str] = {}
    named = []
    keep, problem = _keep(job, job_dir, task, engine, config)
    for cand in job["candidates"]:
        name, source = cand["name"], cand["source"]
        if cand.get("task_reward"):
            named.append((name, load_reward_fn(task.baseline(cand["task_reward"]))))
            continue
        report = check_static(source, name)
        if not report.ok:
            failed[name] = f"{report.kind}: {report.message}"
            continue
        try:
            named.append((name, load_untrusted(source)))
        except ProgramLoadError as exc:
            failed[name] = f"{exc.kind}: {exc.message}"
        except Exception as exc:
            c = classify_exception(exc, source.splitlines())
            failed[name] = f"{c.kind}: {c.message}"

    if problem:  # every candidate fails with it: nothing trains from a state that does not fit
        failed = {c["name"]: problem for c in job["candidates"]}
        named = []
    trained: dict[tuple[str, int], TrainResult] = {}
    if named:
        progress = _progress_writer(job_dir / "progress.jsonl")
        for res in engine.train_fns(task, named, config, seeds, progress, **keep):
            trained[(res.candidate, res.seed)] = res
    out = []
    for cand in job["candidates"]:
        for seed in seeds:
            name = cand["name"]
            res = trained.get((name, seed)) or TrainResult(
                name, seed, "error", (), 0, 0.0, 0.0, message=failed.get(name, "not trained")
            )
            out.append(res.to_dict())
    write_json_atomic(job_dir / "results.json", {"results": out})


def _keep(
    job: dict[str, Any], job_dir: Path, task: Any, engine: Any, config: Any
) -> tuple[dict[str, Any], str]:
    """The engine keywords for the job's warm start, policy saving and halving, or why the job cannot train.

    The parent checks a warm-start file before it writes any job; this is the backstop (a file changed
    in between, an engine without warm starts), turned into every candidate's error, not a crash."""
    if not job.get("warm_start") and not job.get("save_policies") and not job.get("halving"):
        return {}, ""
    if getattr(engine, "name", "") != "ppo_jax":
        what = "halving" if job.get("halving") else "warm_start"
        return {}, f"{what}: not supported with engine {engine.name} (the ppo_jax engine only)"
    keep: dict[str, Any] = {}
    if job.get("halving"):
        from rewardlab.engines.halving import Halving

        try:
            halving = Halving.from_dict(job["halving"])
            halving.check((config or task.ppo).n_checkpoints)
        except (ValueError, KeyError, TypeError) as exc:
            return {}, f"halving: {exc}"
        keep["halving"] = halving
    if job.get("save_policies"):
        keep["save_dir"] = job_dir / "policies"
    if job.get("warm_start"):
        from rewardlab.engines.warm_start import WarmStart

        try:
            warm = WarmStart.load(job["warm_start"])
            warm.check(task, config or task.ppo)
        except ValueError as exc:
            return {}, f"warm_start: {' '.join(str(exc).split())}"
        keep["warm_start"] = warm
    return keep, ""


def _progress_writer(path: Path) -> Callable[[Any], None]:
    """The engine's progress callback: one JSON line per call, with seconds since the job started."""
    hang_after = int(os.environ.get(HANG_ENV, "0") or 0)
    t0 = time.monotonic()
    lines = 0

    def progress(info: Any) -> None:
        nonlocal lines
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({**dataclasses.asdict(info), "t": round(time.monotonic() - t0, 3)}) + "\n")
        lines += 1
        while 0 < hang_after <= lines:  # a test's stand-in for a hung chunk; see the module docstring
            time.sleep(3600)

    return progress


def _config_from_dict(cls: Any, data: dict[str, Any]) -> Any:
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            value = data[f.name]
            kwargs[f.name] = tuple(value) if isinstance(value, list) else value
    return cls(**kwargs)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == SERVE_FLAG:
        sys.exit(serve(Path(sys.argv[2])))
    sys.exit(main(Path(sys.argv[1])))
