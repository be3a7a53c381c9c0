"""Test helper for kill-and-resume tests: read a run folder's journal while a CLI search runs, and SIGKILL
the search's whole process group (the search and its training children) at a chosen point."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path


def events(run_dir: Path | None) -> list[dict]:
    """The journal's events so far; a torn last line (the writer is mid-append) is skipped."""
    path = run_dir / "events.jsonl" if run_dir is not None else None
    out: list[dict] = []
    if path is not None and path.exists():
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
    return out


def kill_when(
    proc: subprocess.Popen, out: Path, pattern: str, stop: Callable[[list[dict]], bool], what: str,
    timeout_s: float,
) -> Path:
    """Poll the run folder `out/pattern` until `stop(events)` holds, then SIGKILL `proc`'s process group
    (started with `start_new_session=True`); the run folder. Fails with `what` if the point is not reached
    in `timeout_s` seconds, or with the search's output if it exits first."""
    deadline = time.monotonic() + timeout_s
    run_dir = None
    try:
        while True:
            assert time.monotonic() < deadline, what
            run_dir = next(iter(sorted(out.glob(pattern))), None)
            if run_dir is not None and stop(events(run_dir)):
                os.killpg(proc.pid, signal.SIGKILL)
                break
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:] if proc.stdout else ""
            time.sleep(0.1)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert run_dir is not None
    return run_dir


def training(prefix: str) -> Callable[[list[dict]], bool]:
    """A `kill_when` stop: a training batch with a candidate whose id starts with `prefix` has started."""
    return lambda evs: any(
        i.startswith(prefix) for e in evs if e["event"] == "train_started" for i in e["ids"]
    )


def trained_once(evs: list[dict]) -> Counter:
    """Per candidate id, how often the search got its runs: trained (`trained`) or, after a kill that landed
    between the worker writing its results and the search recording them, taken from those results on
    resume (`runs_recovered`, iteration batches). A candidate counted twice was trained twice."""
    got = Counter(e["id"] for e in evs if e["event"] == "trained")
    recovered = (e for e in evs if e["event"] == "runs_recovered" and e.get("stage") == "iteration")
    got.update(i for e in recovered for i in e["ids"])
    return got
