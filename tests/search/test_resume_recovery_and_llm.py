"""A search killed after its worker delivered an iteration batch, resumed on another LLM server.

One real search (CartPole-v1, 2 samples x 3 iterations, tiny budget) against fake OpenAI-compatible
server A is frozen (SIGSTOP, the search process only) while its worker trains iteration 0, so the worker
writes `results.json` but the search cannot record it; then the whole process group is SIGKILLed. It is
resumed with `--llm` pointing at server B (another model name), killed again once B has answered
iteration 1, and resumed plainly. Checked: iteration 0 was not trained again (its runs were recovered
from the worker's job), B answered every request after the switch and A none, the switch is recorded
and kept by the plain resume, the summary names both LLMs, and the search ends exactly as an
uninterrupted search given the same replies.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_openai import FakeLLMServer, Reply
from search_replies import FENCED_BAD, GOOD, GOOD_VARIANT

from rewardlab.store import RunStore, read_json
from rewardlab.types import TrainResult
from run_watch import events, kill_when, training

pytestmark = pytest.mark.slow

REPLIES = (
    (GOOD, GOOD_VARIANT),  # iteration 0: server A
    (GOOD.replace("centered = -0.05", "centered = -0.2"), FENCED_BAD),  # iteration 1: server B
    (GOOD_VARIANT.replace("alive = jnp.float32(1.0)", "alive = jnp.float32(0.5)"), GOOD),  # iteration 2
)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "rewardlab.api.cli", *args]


def _search_args(out: Path) -> list[str]:
    return [
        *("--samples", "2", "--iterations", "3", "--final-seeds", "1", "--confirm-top", "0"),
        *("--timesteps", "8192", "--checkpoints", "2", "--eval-episodes", "4", "--quiet"),
        *("--out", str(out), "--set", "check=static"),
        *("--set", f"jax_cache_dir={os.environ['REWARDLAB_JAX_CACHE']}"),
    ]


def _chats(server: FakeLLMServer) -> int:
    return sum(1 for r in server.requests if r.path.endswith("/chat/completions"))


def _jobs_of(run_dir: Path, prefix: str) -> list[Path]:
    """Worker job folders that were given a candidate whose id starts with `prefix`."""
    out = []
    for job in sorted((run_dir / "worker").glob("job-*")):
        spec = read_json(job / "job.json") if (job / "job.json").exists() else {"candidates": []}
        if any(c["name"].startswith(prefix) for c in spec["candidates"]):
            out.append(job)
    return out


def _freeze_after_delivery(proc: subprocess.Popen, out: Path, timeout_s: float = 400.0) -> Path:
    """Stop the search process (SIGSTOP: its training child goes on) as soon as the child trains
    iteration 0's batch, wait for the child's `results.json`, then SIGKILL the search's process group:
    the batch was delivered and never recorded. Returns the run folder."""
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            assert time.monotonic() < deadline, "iteration 0 never started training"
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:] if proc.stdout else ""
            run_dir = next(iter(sorted(out.glob("CartPole-v1-*"))), None)
            jobs = _jobs_of(run_dir, "r0-i0-") if run_dir is not None else []
            if jobs and (jobs[0] / "progress.jsonl").exists():  # the child has the job and trains it
                os.kill(proc.pid, signal.SIGSTOP)
                break
            time.sleep(0.01)
        while not (jobs[0] / "results.json").exists():
            assert time.monotonic() < deadline, "the worker never delivered iteration 0"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (run_dir / "iter_000" / "cand_000" / "result.json").exists(), (
        "kill point missed: the search recorded iteration 0 before it was stopped"
    )
    return run_dir


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _outcome(run_dir: Path) -> dict:
    """What a search decided and measured, without times: every candidate's fitness per seed, and the
    final table's fitness per seed and row."""
    store = RunStore(run_dir)
    fitness = {}
    for i in range(3):
        for j in range(2):
            results = read_json(store.candidate_dir(0, i, j) / "result.json")["results"]
            fitness[f"{i}/{j}"] = [TrainResult.from_dict(r).max_fitness for r in results]
    final = json.loads((run_dir / "summary.json").read_text())["final"]
    return {"candidates": fitness, "final": {k: (v["n"], v["mean"]) for k, v in final["table"].items()}}


def test_killed_after_delivery_resumed_on_another_llm(tmp_path):
    out = tmp_path / "runs"
    with FakeLLMServer() as a, FakeLLMServer() as b, FakeLLMServer() as c:
        a.push(Reply(texts=list(REPLIES[0])))
        b.push(*(Reply(texts=list(r)) for r in REPLIES[1:]))
        spec_a, spec_b = f"openai:fake@{a.openai_url}", f"openai:fake-b@{b.openai_url}"
        search = subprocess.Popen(
            _cli("search", "CartPole-v1", "--llm", spec_a, *_search_args(out)),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        run_dir = _freeze_after_delivery(search, out)
        seen_by_a = len(a.requests)
        assert _chats(a) == 1 and _chats(b) == 0

        resumed = subprocess.Popen(
            _cli("resume", str(run_dir), "--llm", spec_b, "--quiet"),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        kill_when(resumed, out, "CartPole-v1-*", training("r0-i1-"), "iteration 1 never trained", 400)
        assert _chats(b) == 1 and len(a.requests) == seen_by_a
        assert RunStore(run_dir).read_config()["llm"] == spec_b  # what a plain resume reads
        _run(_cli("resume", str(run_dir), "--quiet"))  # plain: keeps B
        assert _chats(b) == 2 and len(a.requests) == seen_by_a  # A was asked nothing after the switch

        c.push(*(Reply(texts=list(r)) for r in REPLIES))
        _run(_cli("search", "CartPole-v1", "--llm", f"openai:fake@{c.openai_url}",
                  *_search_args(tmp_path / "plain")))

    evs = events(run_dir)
    changes = [e for e in evs if e["event"] == "llm_changed"]
    assert [(e["old"], e["new"]) for e in changes] == [(spec_a, spec_b)]
    store = RunStore(run_dir)
    assert store.read_config()["llm"] == spec_b and store.read_run()["status"] == "finished"

    # iteration 0 trained once: in the job whose results the resumed search recovered
    assert len(_jobs_of(run_dir, "r0-i0-")) == 1
    recovered = [e for e in evs if e["event"] == "runs_recovered"]
    assert [(e["stage"], e["ids"], e["runs"]) for e in recovered] == [
        ("iteration", ["r0-i0-c0", "r0-i0-c1"], 2)
    ]
    assert not any(e["event"] == "trained" and e["id"].startswith("r0-i0-") for e in evs)

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["llm"]["specs"] == [spec_a, spec_b] and summary["llm"]["spec"] == spec_b
    assert {(m["model"], m["calls"]) for m in summary["llm"]["models"]} == {("fake", 1), ("fake-b", 2)}
    assert "fake-b" in (run_dir / "report.html").read_text()

    plain = next((tmp_path / "plain").glob("CartPole-v1-*"))
    assert _outcome(run_dir) == _outcome(plain)
