"""End to end: two iterations against the fake OpenAI-compatible server.

Iteration 0 gets a good reward, a broken one (an unknown state field), one that is too slow to train
within the worker's time limit (refused by the probe from its measured call time, before it can stall
the batch), and a bad one hidden in several code fences. Iteration 1 gets a variant
of the good one, a reply without code, the bad one again and a syntax error. The run folder must hold
every record, the errors must reach iteration 1's prompt, the reflection must name every component,
and selection must pick the best trained candidate (never the step-penalty reward).
"""

from __future__ import annotations

import json
import os

import pytest
from fake_openai import FakeLLMServer, Reply
from search_replies import BROKEN, FENCED_BAD, GOOD, GOOD_VARIANT, NO_CODE, SLOW, SYNTAX

from rewardlab import runfolder
from rewardlab.api import search
from rewardlab.runfolder import read_candidate, read_json
from rewardlab.search import SearchConfig
from rewardlab.search.select import select
from rewardlab.store import RunStore

pytestmark = pytest.mark.slow

TRAIN_TIMEOUT_S = 300.0
"""Long enough for a worker to import JAX and compile a batch on a loaded 2-core machine; far too short
for SLOW, whose reward runs a 100-million-step loop on every call (about 1 s per call at ~8 ns per step;
training would call it a few thousand times), so the probe refuses it (`sandbox.cost`)."""


def test_two_iterations_against_the_fake_server(tmp_path):
    with FakeLLMServer() as server:
        server.push(
            Reply(texts=[GOOD, BROKEN, SLOW, FENCED_BAD]),
            Reply(texts=[GOOD_VARIANT, NO_CODE, FENCED_BAD, SYNTAX]),
        )
        config = SearchConfig(
            task="CartPole-v1",
            llm=f"openai:fake-model@{server.openai_url}",
            samples=4,
            iterations=2,
            final_seeds=0,
            confirm_top=0,  # selection by search fitness alone: what this test checks
            timesteps=8192,
            n_checkpoints=2,
            eval_episodes=4,
            check="probe",
            train_timeout_s=TRAIN_TIMEOUT_S,
            elites=2,  # the next best distinct reward is shown too
            jax_cache_dir=os.environ.get("REWARDLAB_JAX_CACHE"),
        )
        run_dir = search(config, tmp_path)
        requests = [r for r in server.requests if r.path.endswith("/chat/completions")]

    store = RunStore(run_dir)
    assert store.read_run()["status"] == "finished"
    assert len(requests) == 2  # one request per iteration, n=4 each

    # every record is on disk
    for i in range(2):
        for j in range(4):
            folder = store.candidate_dir(0, i, j)
            for name in ("candidate.json", "prompt.json", "response.txt", "feedback.txt"):
                assert (folder / name).exists(), folder / name
    c = lambda i, j: read_candidate(store.layout, 0, i, j)
    read_results = lambda cand: runfolder.read_results(store.layout, cand)
    check = lambda i, j: read_json(store.candidate_dir(0, i, j) / "check.json")

    # iteration 0: good trains, broken fails the probe, slow is refused as too slow, fenced is extracted
    assert check(0, 0)["ok"] and read_results(c(0, 0))[0].status == "ok"
    assert not check(0, 1)["ok"] and "pole_tilt_angle" in check(0, 1)["message"]
    assert not (store.candidate_dir(0, 0, 1) / "result.json").exists()
    slow = check(0, 2)
    assert not slow["ok"] and slow["kind"] == "timeout" and "too slow to train" in slow["message"]
    assert slow["call_seconds"] > 0.1 and not (store.candidate_dir(0, 0, 2) / "result.json").exists()
    assert c(0, 3).source is not None and "step_penalty = jnp.float32(-1.0)" in c(0, 3).source
    assert read_results(c(0, 3))[0].status == "ok"
    # iteration 1: no code and a syntax error are records with a status, not gaps
    assert c(1, 1).source is None and c(1, 1).extract_reason
    assert not check(1, 3)["ok"] and check(1, 3)["kind"] == "syntax"

    # errors of iteration 0 reached iteration 1's prompt, with the reflection of the best candidate
    prompt = "\n".join(m["content"] for m in requests[1].body["messages"])
    assert "pole_tilt_angle" in prompt
    assert "too slow to train" in prompt
    for name in ("task_score", "episode_length", "reward_return"):
        assert name in prompt
    info0 = read_json(store.iteration_dir(0, 0) / "iteration.json")
    assert info0["best"] == "r0-i0-c0"
    for comp in ("alive", "upright", "centered"):
        assert f"component {comp}:" in info0["reflection"]
    assert "upright_temperature = 0.1" in prompt  # the best code so far is shown
    assert "r0-i0-c3, task score" in prompt and "step_penalty = jnp.float32(-1.0)" in prompt  # elites=2

    # selection: the best trained candidate over both iterations, never the step-penalty reward
    records = [runfolder.read_record(store.layout, 0, i, j) for i in range(2) for j in range(4)]
    fitness = {r.candidate.id: r.fitness for r in records}
    assert fitness["r0-i0-c0"] > fitness["r0-i0-c3"]  # upright reward beats the step penalty
    info1 = read_json(store.iteration_dir(0, 1) / "iteration.json")
    assert info1["best"] == select(records).candidate.id
    assert info1["best"] in ("r0-i0-c0", "r0-i1-c0")
    assert info1["best_fitness"] == max(f for f in fitness.values() if f is not None)

    # the journal names every candidate's steps
    events = store.events()
    trained = [e["id"] for e in events if e["event"] == "trained"]
    assert (
        sorted(trained)
        == sorted(set(trained))
        == ["r0-i0-c0", "r0-i0-c3", "r0-i1-c0", "r0-i1-c2"]
    )
    summary = json.loads((run_dir / "summary.json").read_text())
    assert [it["iteration"] for it in summary["iterations"]] == [0, 1]
    assert (run_dir / "report.html").exists()
    # the report shows each candidate's status as the search recorded it in iteration.json
    for it in summary["iterations"]:
        info = read_json(store.iteration_dir(0, it["iteration"]) / "iteration.json")
        recorded = {v["id"]: v["status"] for v in info["candidates"]}
        assert {row["id"]: row["status"] for row in it["candidates"]} == recorded
