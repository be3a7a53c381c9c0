"""Training child: `python -m rewardlab.sandbox._train_child JOB_DIR` trains one batch of candidates.

Reads `job.json` (task reference, engine name, PPO config, seeds, candidates), hardens itself, imports
the task from its reference (the user's own file or module included) and the engine (`engine`, or the
task's own `Task.engine` when the job names none), re-applies the static policy, loads every program
with the restricted loader and calls the engine's `train_fns` once for the whole batch. A
candidate marked `task_reward` is the task's own human/sparse baseline, taken from the task itself.
Progress goes to `progress.jsonl` (one JSON object per line, appended), results to `results.json`
(written atomically at the end). The parent never reads stdout.

For tests of the parent's stall watchdog only: with REWARDLAB_TEST_HANG_AFTER_PROGRESS=N in its
environment the child blocks forever right after writing its N-th progress line, as it does when XLA's
CPU runtime hangs inside a chunk (the main thread waits, nothing more is written).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from rewardlab.sandbox.guard import exit_with_parent, harden, read_json, write_json_atomic
from rewardlab.sandbox.report import Limits

HANG_ENV = "REWARDLAB_TEST_HANG_AFTER_PROGRESS"


def main(job_dir: Path) -> int:
    hang_after = int(os.environ.get(HANG_ENV, "0") or 0)
    job = read_json(job_dir / "job.json")
    harden(Limits.from_dict(job["limits"]), file_size_mb=1024)
    exit_with_parent()

    from rewardlab import engines
    from rewardlab.config import PPOConfig
    from rewardlab.engines import ProgressInfo
    from rewardlab.rewards.program import load_reward_fn
    from rewardlab.sandbox.errors import classify_exception
    from rewardlab.sandbox.guard import install_audit_hook
    from rewardlab.sandbox.restricted import ProgramLoadError, load_untrusted
    from rewardlab.sandbox.static import check_static
    from rewardlab.tasks.ref import TaskRefError, load
    from rewardlab.types import TrainResult

    try:
        task = load(job["task"])  # before the audit hook: importing writes nothing, but may open files
    except TaskRefError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    try:  # importing the engine (torch for sb3) also happens before the audit hook
        engine = engines.get(job.get("engine") or task.engine)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    config = _config_from_dict(PPOConfig, job["config"]) if job.get("config") else None
    seeds = [int(s) for s in job["seeds"]]
    roots = [job_dir] + ([job["jax_cache_dir"]] if job.get("jax_cache_dir") else [])
    install_audit_hook(roots)

    failed: dict[str, str] = {}
    named = []
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

    progress_path = job_dir / "progress.jsonl"
    t0 = time.monotonic()
    lines = 0

    def progress(info: ProgressInfo) -> None:
        nonlocal lines
        with open(progress_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({**dataclasses.asdict(info), "t": round(time.monotonic() - t0, 3)}) + "\n")
        lines += 1
        while 0 < hang_after <= lines:  # a test's stand-in for a hung chunk; see the module docstring
            time.sleep(3600)

    trained: dict[tuple[str, int], TrainResult] = {}
    if named:
        for res in engine.train_fns(task, named, config, seeds, progress):
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
    return 0


def _config_from_dict(cls: Any, data: dict[str, Any]) -> Any:
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            value = data[f.name]
            kwargs[f.name] = tuple(value) if isinstance(value, list) else value
    return cls(**kwargs)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
