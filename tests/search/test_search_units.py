"""Selection, reflection and the run store, on records made by hand (no training)."""

from __future__ import annotations

import json
import math
import threading

from rewardlab.sandbox import CheckReport
from rewardlab.search.records import Candidate, EvalRecord
from rewardlab.search.reflect import error_lines, reflect, series_line
from rewardlab.search.select import ranked, select
from rewardlab.store import RunStore
from rewardlab.types import Checkpoint, ComponentStats, TrainResult


def _result(name: str, fits: list[float], seed: int = 0, comps: dict | None = None) -> TrainResult:
    cps = tuple(
        Checkpoint(
            step=100 * (k + 1),
            fitness=f,
            eval_metrics={},
            reward_return=2.0 * f,
            env_return=f,
            episode_length=10.0 + k,
            components={n: ComponentStats(v[k], v[k] - 1, v[k] + 1) for n, v in (comps or {}).items()},
        )
        for k, f in enumerate(fits)
    )
    return TrainResult(name, seed, "ok", cps, 1000, 1.0, 2.0)


def _rec(i: int, j: int, fits: list[float] | None, status: str = "ok", **kw) -> EvalRecord:
    cand = Candidate(0, i, j, "src" if status != "no_code" else None, "llm")
    results = (_result(cand.id, fits),) if fits is not None else ()
    return EvalRecord(cand, status, results=results, **kw)  # type: ignore[arg-type]


def test_fitness_is_max_over_checkpoints_mean_over_seeds():
    cand = Candidate(0, 0, 0, "src", "llm")
    rec = EvalRecord(cand, "ok", results=(_result("a", [1.0, 5.0, 3.0], 0), _result("a", [2.0, 2.0, 4.0], 1)))
    assert rec.fitness == (5.0 + 4.0) / 2
    assert EvalRecord(cand, "train_failed", results=rec.results).fitness is None


def test_select_keeps_the_best_so_far_and_breaks_ties_by_position():
    prev = _rec(0, 3, [7.0])
    new = [_rec(1, 0, [5.0]), _rec(1, 1, None, "check_failed"), _rec(1, 2, [6.0])]
    assert select(new, prev) is prev  # never lose the best so far
    tie = [_rec(1, 2, [7.0]), _rec(1, 1, [7.0])]
    assert select(tie, prev) is prev  # earlier iteration wins a tie
    assert select(tie).candidate.index == 1  # then the lower index
    assert select([_rec(1, 0, None, "no_code")]) is None
    assert [r.candidate.index for r in ranked(new)] == [2, 0]


def test_reflection_lists_every_component_at_every_checkpoint():
    comps = {"upright": [0.1, 0.5, 0.9], "effort": [-1.0, -1.0, -1.0]}
    cand = Candidate(0, 0, 0, "src", "llm")
    rec = EvalRecord(cand, "ok", results=(_result("a", [10.0, 20.0, 30.0], comps=comps),))
    text = reflect(rec)
    assert "3 checkpoints" in text
    assert "task_score: [10, 20, 30]  max 30, mean 20, min 10" in text
    assert "component upright: [0.1, 0.5, 0.9]  max 0.9, mean 0.5, min 0.1" in text
    assert "component effort: [-1, -1, -1]" in text
    assert "episode_length: [10, 11, 12]" in text
    assert "reward_return: [20, 40, 60]" in text
    assert series_line("x", [math.nan, 1.0]) == "x: [nan, 1]  max 1, mean 1, min 1"


def test_error_lines_summarise_failures_once():
    bad = CheckReport.failure("trace", "state has no field 'foo'", line=4)
    recs = [
        _rec(0, 0, [1.0]),
        EvalRecord(Candidate(0, 0, 1, "s", "llm"), "check_failed", check=bad),
        EvalRecord(Candidate(0, 0, 2, "s", "llm"), "check_failed", check=bad),
        EvalRecord(Candidate(0, 0, 3, None, "llm", extract_reason="no fenced code"), "no_code"),
        EvalRecord(Candidate(0, 0, 4, "s", "llm"), "train_failed", message="error: training timed out"),
    ]
    assert error_lines(recs) == [
        "check failed, trace (line 4): state has no field 'foo'",
        "no code: no fenced code",
        "training failed: error: training timed out",
    ]


def test_store_writes_atomically_and_appends_events(tmp_path):
    store = RunStore.create(tmp_path, "CartPole-v1", {"task": "CartPole-v1", "samples": 2}, command=["x"])
    assert store.root.name.startswith("CartPole-v1-")
    run = store.read_run()
    assert run["status"] == "running" and run["command"] == ["x"] and "python" in run["versions"]
    assert store.read_config() == {"task": "CartPole-v1", "samples": 2}
    threads = [
        threading.Thread(target=lambda k=k: [store.event("e", k=k, n=n) for n in range(20)]) for k in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = (store.root / "events.jsonl").read_text().splitlines()
    assert len(lines) == 81 and all(json.loads(line) for line in lines)  # created + 80, none torn
    store.write_json(store.candidate_dir(1, 2, 3) / "x.json", {"a": 1})
    assert (store.root / "restart_01" / "iter_002" / "cand_003" / "x.json").exists()
    assert not list(store.root.rglob("*.tmp"))
    store.start_heartbeat(every_s=0.05)
    before = store.read_run()["heartbeat"]
    import time

    time.sleep(0.3)
    store.stop_heartbeat()
    assert store.read_run()["heartbeat"] > before
    store.set_status("finished")
    assert store.read_run()["status"] == "finished"
