"""Kill a search process with SIGKILL at several points, resume it each time, and check the result.

The run must end complete (final table included); no candidate may be lost or trained twice (a worker
job may only be repeated if it never delivered its results), and no LLM request may be repeated
(the fake server counts them: one per iteration, however many times the process was restarted).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from fake_openai import FakeLLMServer, Reply
from search_replies import FENCED_BAD, GOOD, GOOD_VARIANT
from tiny_search import tiny_search_args

from rewardlab.store import RunStore, read_json

pytestmark = pytest.mark.slow

GOOD_OTHER = GOOD.replace("centered = -0.05", "centered = -0.2")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "rewardlab.api.cli", *args]


def _events(run_dir: Path) -> list[dict]:
    path = run_dir / "events.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):
            out.append(json.loads(line))
    return out


def _run_until(cmd: list[str], out: Path, stop, timeout_s: float = 400.0) -> tuple[Path | None, bool]:
    """Start `cmd`; SIGKILL it as soon as `stop(events)` is true. Returns (run folder, killed)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            runs = sorted(out.glob("CartPole-v1-*"))
            run_dir = runs[0] if runs else None
            if run_dir is not None and stop(_events(run_dir)):
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return run_dir, True
            if proc.poll() is not None:
                output = proc.stdout.read().decode() if proc.stdout else ""
                assert proc.returncode == 0, output
                return run_dir, False
            time.sleep(0.1)
        raise AssertionError(f"{cmd} did not reach its kill point in {timeout_s} s")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _seen(kind: str, **match):
    def stop(events):
        return any(e["event"] == kind and all(e.get(k) == v for k, v in match.items()) for e in events)

    return stop


def test_sigkill_and_resume_loses_nothing_and_repeats_nothing(tmp_path):
    out = tmp_path / "runs"
    with FakeLLMServer() as server:
        server.push(Reply(texts=[GOOD, FENCED_BAD]), Reply(texts=[GOOD_VARIANT, GOOD_OTHER]))
        search = _cli(
            "search",
            "CartPole-v1",
            "--llm",
            f"openai:fake@{server.openai_url}",
            *tiny_search_args(out),
            "--quiet",
            "--set",
            "check=static",
        )
        kills = [
            _seen("train_started"),  # in the middle of iteration 0's training batch
            _seen("proposed", id="r0-i1-c0"),  # while iteration 1's candidates are being written
            _seen("confirm_started"),  # while the best two are retrained on fresh seeds
            _seen("final_started"),  # in the final evaluation
        ]
        run_dir, killed = _run_until(search, out, kills[0])
        assert killed and run_dir is not None
        assert read_json(run_dir / "run.json")["status"] == "running"  # a killed run cannot say otherwise
        for stop in kills[1:]:
            _, killed = _run_until(_cli("resume", str(run_dir), "--quiet"), out, stop)
        _, killed = _run_until(_cli("resume", str(run_dir), "--quiet"), out, lambda events: False)
        assert not killed
        chat = [r for r in server.requests if r.path.endswith("/chat/completions")]

    # no LLM request repeated: one per iteration
    assert len(chat) == 2
    store = RunStore(run_dir)
    run = store.read_run()
    assert run["status"] == "finished" and run["attempts"] >= 3

    # no candidate lost: every one has its files, every trainable one its result
    for i in range(2):
        for j in range(2):
            folder = store.candidate_dir(0, i, j)
            assert (folder / "candidate.json").exists() and (folder / "reward.py").exists()
            assert (folder / "result.json").exists()
            assert all(r["status"] == "ok" for r in read_json(folder / "result.json")["results"])

    # nothing trained twice: a candidate is in several worker jobs only if the earlier ones never finished
    jobs = sorted((store.root / "worker").glob("job-*"), key=lambda p: p.stat().st_mtime)
    delivered = Counter()
    for job in jobs:
        if not (job / "job.json").exists():  # killed between creating the folder and writing the job
            continue
        spec = read_json(job / "job.json")  # a set of runs may be cut by seeds: count (program, seed) runs
        runs = [(c["name"], int(s)) for c in spec["candidates"] for s in spec["seeds"]]
        if (job / "results.json").exists():
            delivered.update(runs)
    assert delivered, "no worker job delivered results"
    assert max(delivered.values()) == 1, delivered
    trained = Counter(e["id"] for e in store.events() if e["event"] == "trained")
    assert max(trained.values()) == 1, trained
    assert sum(1 for e in store.events() if e["event"] == "confirm_done") == 1
    assert sum(1 for n, _ in delivered if n.startswith("confirm-")) == 4  # 2 rewards x 2 seeds, once

    # the confirmation is complete and chose the winner that the final evaluation retrained
    conf = read_json(run_dir / "confirm.json")
    assert len(conf["candidates"]) == 2 and all(len(c["per_seed"]) == 2 for c in conf["candidates"])
    assert read_json(run_dir / "final" / "results.json")["method"]["candidate"] == conf["winner"]

    # the final summary is complete
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "finished"
    table = summary["final"]["table"]
    assert {k: table[k]["n"] for k in ("method", "human", "sparse")} == {"method": 2, "human": 2, "sparse": 2}
    assert (
        summary["final"]["human_normalised_mean"]["value"] is not None
        or summary["final"]["human_normalised_mean"]["message"]
    )
    assert [len(it["candidates"]) for it in summary["iterations"]] == [2, 2]
    assert (run_dir / "report.html").exists()
