"""Selection, reflection and the run store, on records made by hand (no training)."""

from __future__ import annotations

import json
import math
import threading

from rewardlab.runfolder import Candidate, EvalRecord, write_json_atomic
from rewardlab.sandbox import CheckReport
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
    write_json_atomic(store.candidate_dir(1, 2, 3) / "x.json", {"a": 1})
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


def test_human_feedback_is_read_once_and_reaches_the_prompt(tmp_path):
    from rewardlab.search.config import SearchConfig
    from rewardlab.search.loop import _human_comment
    from rewardlab.search.progress import Progress
    from rewardlab.search.prompts import next_messages

    comment_file = tmp_path / "comment.txt"
    comment_file.write_text("The cart drifts to the right; penalise its position more.\n")
    config = SearchConfig(feedback="human", feedback_file=str(comment_file))
    store = RunStore.create(tmp_path / "runs", "CartPole-v1", config.to_dict())
    quiet = Progress(1, enabled=False)
    text = _human_comment(store, config, 0, 0, None, "stats", quiet)
    assert text == "The cart drifts to the right; penalise its position more."
    comment_file.write_text("changed later")  # a resumed run reads the stored comment, not the file
    assert _human_comment(store, config, 0, 0, None, "stats", quiet) == text
    msgs = next_messages("ctx", "desc", "def compute_reward(s, a, n): ...", 1.0, "refl", ["err"], text)
    assert "penalise its position more" in msgs[-1]["content"] and "- err" in msgs[-1]["content"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]


def test_first_prompt_holds_contract_tips_context_and_description():
    from rewardlab import tasks
    from rewardlab.search.prompts import first_messages

    task = tasks.get("Pendulum-v1")
    msgs = first_messages(task.context, task.description, init_code=task.human.source)
    system, user = msgs[0]["content"], msgs[1]["content"]
    assert "def compute_reward(state, action, next_state)" in system
    assert "temperature" in system and "named component" in system
    assert task.description.strip() in user and "theta_dot" in user
    assert "angle_cost" in user  # the --init reward is shown for iteration 0 to improve


def test_mutation_proposals_are_redone_identically_after_a_partial_write(tmp_path):
    from rewardlab import tasks
    from rewardlab.search.propose import propose_mutations

    human = tasks.get("Pendulum-v1").human.source
    store = RunStore.create(tmp_path, "Pendulum-v1", {})
    kw = {"seed": 3, "scale": 0.5, "init": ("human", human)}
    first = propose_mutations(store, 0, 0, 6, [], [], **kw)
    assert [c.origin for c in first] == ["human"] + ["mutation"] * 5
    assert first[0].source == human
    # a kill after three candidates were written: the rest is regenerated exactly as before
    for j in (3, 4, 5):
        (store.candidate_dir(0, 0, j) / "candidate.json").unlink()
    again = propose_mutations(store, 0, 0, 6, [], [], **kw)
    assert [c.source for c in again] == [c.source for c in first]
    assert sum(1 for e in store.events() if e["event"] == "proposed") == 9  # 6, then the 3 missing


def test_resume_refuses_a_run_that_a_live_process_is_driving(tmp_path):
    import subprocess
    import sys
    import time

    import pytest

    from rewardlab.search.runs import RunInUse, resume

    store = RunStore.create(tmp_path, "CartPole-v1", {"task": "CartPole-v1"}, ["test"])
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        store.update_run(pid=other.pid, heartbeat=time.time())
        assert f"process {other.pid}" in (store.live_owner() or "")
        with pytest.raises(RunInUse, match="--force"):
            resume(store.root)
        cli = subprocess.run(
            [sys.executable, "-m", "rewardlab.cli", "resume", str(store.root), "--quiet"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert cli.returncode == 2 and "being driven by process" in cli.stderr, cli.stderr
        assert store.live_owner(now=time.time() + 60) is None  # a stale heartbeat is not a driver
    finally:
        other.kill()
        other.wait()
    assert store.live_owner() is None  # the driver is gone (SIGKILLed): resuming is allowed
    store.update_run(pid=12345678, status="finished")
    assert store.live_owner() is None
    assert read_events_kinds(store) == ["created"]  # the refused resumes wrote nothing


def read_events_kinds(store: RunStore) -> list[str]:
    return [e["event"] for e in store.events()]
