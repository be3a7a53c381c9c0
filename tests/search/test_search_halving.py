"""`rewardlab search --halving`: successive halving of an iteration's batch, through the sandboxed child.

A real CartPole search (LLM-free proposer, 4 candidates in one batch, 2 checkpoints: one rung after the
first) must stop the worse two candidates at half the budget and train the better two to the end; the
run folder (results, iteration record, events, report summary) and what the next prompt shows must say
that a stopped candidate did not finish its training; the stored results are read back like any others
(a resumed run does not retrain them); the final evaluation trains every run to the end.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rewardlab import runfolder
from rewardlab.api.cli import main as cli
from rewardlab.search import evaluate, reflect
from rewardlab.store import RunStore

STEPS = 8192


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    args = [
        *("--samples", "4", "--iterations", "1", "--final-seeds", "1", "--confirm-top", "0"),
        *("--timesteps", str(STEPS), "--checkpoints", "2", "--eval-episodes", "4"),
        *("--out", str(out), "--set", f"jax_cache_dir={os.environ['REWARDLAB_JAX_CACHE']}"),
    ]
    assert cli(["search", "CartPole-v1", "--halving", "--quiet", *args]) == 0
    return next(out.glob("CartPole-v1-*"))


@pytest.mark.slow
def test_the_worse_half_stops_at_the_rung_and_says_so(run):
    layout = RunStore(run).layout
    records = runfolder.read_records(layout, 0, 0)
    assert len(records) == 4 and all(r.status == "ok" for r in records)
    stopped = [r for r in records if r.results[0].extra.get("halved_at") is not None]
    full = [r for r in records if r not in stopped]
    assert len(stopped) == len(full) == 2
    first = {r.candidate.id: r.results[0].checkpoints[0].fitness for r in records}
    assert min(first[r.candidate.id] for r in full) >= max(first[r.candidate.id] for r in stopped)
    for r in stopped:
        res = r.results[0]
        assert res.extra["halved_at"] == res.env_steps == STEPS // 2 and len(res.checkpoints) == 1
        assert "stopped by successive halving at step 4096 of 8192 (50% of the budget)" in r.message
        assert reflect.halved_status(r) == "stopped at 50% by halving"
        assert "training stopped at 50% of the budget by halving" in reflect.score_text(r)
        assert "these curves end there" in reflect.reflect(r)
    for r in full:
        res = r.results[0]
        assert res.env_steps == STEPS and len(res.checkpoints) == 2 and r.message == ""
        assert reflect.halved_status(r) == "ok"

    table = reflect.candidate_table(records, None, None)
    assert table.count("stopped at 50% by halving") == 2
    iteration = json.loads(next(run.glob("**/iter_000/iteration.json")).read_text())
    text = json.dumps(iteration)
    assert text.count("stopped by successive halving") == 2, text
    trained = [json.loads(line) for line in layout.events.read_text().splitlines()]
    trained = [e for e in trained if e.get("kind", e.get("event")) == "trained"]
    assert sorted(e.get("halved_at") is not None for e in trained) == [False, False, True, True], trained
    summary = json.loads((run / "summary.json").read_text())
    assert json.dumps(summary).count("stopped by successive halving") >= 2

    final = json.loads((run / "final" / "results.json").read_text())["results"]
    runs = [r for rs in final.values() for r in rs]
    assert runs and all("halved_at" not in r["extra"] and r["env_steps"] == STEPS for r in runs)


@pytest.mark.slow
def test_stored_halved_results_are_read_back_not_retrained(run):
    """What a resumed run does with a finished batch: `evaluate.train` finds every result on disk."""
    store = RunStore(run)
    cands = [r.candidate for r in runfolder.read_records(store.layout, 0, 0)]

    class NoTraining:
        name = "none"

        def run(self, *a, **k):
            raise AssertionError("a stored result was trained again")

    got = evaluate.train(store, None, cands, None, [0], timeout_s=1.0, batch_size=16, evaluator=NoTraining())
    assert sum(1 for rs in got.values() if rs[0].extra.get("halved_at")) == 2


def test_help_names_the_option_and_a_bad_value_is_one_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli(["search", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--halving Successive halving" in help_text and "0.45x the env steps" in help_text
    out = tmp_path / "runs"
    assert cli(["search", "CartPole-v1", "--halving", "--checkpoints", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "halving needs n_checkpoints >= 2 (got 1)" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.slow
def test_a_ray_batch_carries_the_rungs_to_its_child(monkeypatch):
    """The function a Ray task runs (`ray_cluster.train_batch`) on a packed batch, called here without a
    cluster: the rungs travel in the payload and the one-shot sandboxed child halves the batch."""
    from rewardlab import tasks
    from rewardlab.engines.halving import Halving
    from rewardlab.executors import Batch, ray_cluster
    from rewardlab.executors.shipping import pack
    from rewardlab.search.config import SearchConfig
    from rewardlab.tasks.ref import resolve
    from rewardlab.types import RewardProgram

    monkeypatch.setattr(ray_cluster, "node_label", lambda: "here")
    monkeypatch.setenv(ray_cluster.CACHE_ENV, os.environ["REWARDLAB_JAX_CACHE"])
    task = tasks.get("CartPole-v1")
    _, ref = resolve("CartPole-v1")
    zero = (
        "import jax.numpy as jnp\n\ndef compute_reward(state, action, next_state):\n"
        "    return jnp.float32(0.0), {'zero': jnp.float32(0.0)}\n"
    )
    programs = (RewardProgram("human", task.human.source, "llm"), RewardProgram("zero", zero, "llm"))
    ppo = SearchConfig(timesteps=STEPS, n_checkpoints=2, eval_episodes=4).ppo(task)
    payload = pack(Batch(ref, programs, ppo, (0,), 600.0, halving=Halving((1,))))
    assert payload["halving"] == {"after": [1], "keep": 0.5}
    out = ray_cluster.train_batch(payload)
    assert [r["status"] for r in out["results"]] == ["ok", "ok"], out["results"]
    stops = {r["candidate"]: r["extra"].get("halved_at") for r in out["results"]}
    first = {r["candidate"]: r["checkpoints"][0]["fitness"] for r in out["results"]}
    loser = min(first, key=lambda c: (first[c], c != "zero"))  # the rule's tie-break keeps the earlier one
    assert stops == {c: (STEPS // 2 if c == loser else None) for c in first}, (stops, first)
