"""Probe child: `python -m rewardlab.sandbox._probe_child JOB_DIR` checks candidates one after another.

Reads `job.json` (candidates with their task references, limits), hardens itself and imports each
task (the user's own file or module included) before anything else runs. For each candidate it
samples the task's transitions if no earlier candidate needed them, marks the candidate as current
(`current.json`), re-applies the static policy, loads the program with restricted builtins, traces it
under `jax.jit(jax.vmap(...))` on the sampled transitions, runs it, checks the contract and writes
`results/<i>.json`. The parent watches the files and kills the process when a candidate overruns its
wall-clock budget.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from rewardlab.sandbox.guard import exit_with_parent, harden, read_json, write_json_atomic
from rewardlab.sandbox.report import CheckReport, Limits


def main(job_dir: Path) -> int:
    job = read_json(job_dir / "job.json")
    limits = Limits.from_dict(job["limits"])
    harden(limits, file_size_mb=64)
    exit_with_parent()

    import json

    import jax
    import numpy as np

    from rewardlab.sandbox.contract import check_candidate
    from rewardlab.sandbox.errors import CpuTimeExceeded, classify_exception
    from rewardlab.sandbox.guard import CpuBudget, install_audit_hook, start_backends
    from rewardlab.sandbox.transitions import cache_name, load_batch, sample_transitions, save_batch
    from rewardlab.tasks.ref import TaskRef, TaskRefError, load

    def key(ref: dict) -> str:
        return json.dumps(ref, sort_keys=True)

    loaded: dict[str, Any] = {}
    try:
        for cand in job["candidates"]:  # import the environment code before the audit hook is installed
            if key(cand["task"]) not in loaded:
                loaded[key(cand["task"])] = (load(cand["task"]), TaskRef.from_dict(cand["task"]))
    except TaskRefError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    budget = CpuBudget()
    start_backends()  # before the hook: a GPU plugin loads its libraries through ctypes
    install_audit_hook([job_dir])
    results = job_dir / "results"
    results.mkdir(exist_ok=True)
    write_json_atomic(job_dir / "ready.json", {"pid": os.getpid()})

    batches: dict[str, Any] = {}
    warm = jax.jit(jax.vmap(lambda s, a, ns: a))
    n, seed = int(job.get("n_transitions", 64)), int(job.get("seed", 0))
    shared = Path(job["transitions_dir"]) if job.get("transitions_dir") else None
    for i, cand in enumerate(job["candidates"]):
        k = key(cand["task"])
        if k not in batches:  # prepared on first use, outside the candidate's time budget
            write_json_atomic(job_dir / "current.json", {"index": i, "setup": True})
            task, ref = loaded[k]
            name = cache_name(ref.name + (f"-{ref.sha256[:12]}" if ref.sha256 else ""), n, seed)
            batch = load_batch(shared / name, task) if shared is not None else None
            if batch is None:
                batch = sample_transitions(task, n=n, seed=seed)
                save_batch(job_dir / "transitions" / name, batch)
            np.asarray(warm(batch.state, batch.action, batch.next_state))  # backend and shapes warm
            batches[k] = batch
        write_json_atomic(job_dir / "current.json", {"index": i})
        t0 = time.perf_counter()
        batch = batches[k]
        fields = tuple(getattr(batch.next_state, "__dataclass_fields__", {}))
        try:
            budget.arm(limits.cpu_s)
            report = check_candidate(cand["source"], batch, fields)
        except CpuTimeExceeded as exc:
            c = classify_exception(exc, cand["source"].splitlines(), fields)
            report = CheckReport.failure("timeout", c.message, line=c.line, stage="probe")
        finally:
            budget.disarm()
        report = report.with_(name=cand["name"], seconds=time.perf_counter() - t0)
        write_json_atomic(results / f"{i}.json", report.to_dict())
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
