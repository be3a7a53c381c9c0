"""A run folder that was killed or damaged: a torn last line of events.jsonl is repaired before the next
append and the run resumes to the end; a garbled config.yaml (or any damaged record) is one clear error
naming the file, before anything changes; events are not repeated on resume; a dead run reads as
`interrupted`; a new search is checked before its folder exists. Hand-made run folders, no training."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_openai import FakeLLMServer

from report.report_fixtures import make_run
from rewardlab.api import RunFolderError, resume
from rewardlab.report.summary import build_summary
from rewardlab.search import SearchConfig
from rewardlab.search.runs import prepare
from rewardlab.store import HEARTBEAT_S, RunStore


def _lines(run: Path) -> list[str]:
    return (run / "events.jsonl").read_text().splitlines()


def test_a_torn_event_log_is_repaired_and_the_run_resumes_to_the_end(tmp_path):
    run = make_run(tmp_path)
    store = RunStore(run)
    store.event("proposed", id="r0-i1-c1")
    whole = (run / "events.jsonl").read_bytes()
    (run / "events.jsonl").write_bytes(whole[:-20])  # SIGKILL in the middle of the last line
    torn = whole[:-20].decode().splitlines()[-1]

    assert resume(run) == run

    lines = _lines(run)
    events = [json.loads(line) for line in lines]  # every line is whole JSON: nothing glued to the fragment
    kinds = [e["event"] for e in events]
    assert kinds[-3:] == ["log_repaired", "resumed", "finished"]
    assert events[-3]["dropped"] == torn
    assert kinds.count("iteration_done") == 0  # both iterations were complete: replayed, not redone
    assert store.read_run()["status"] == "finished"

    resume(run)  # once more: no repair needed, nothing repeated
    kinds = [json.loads(line)["event"] for line in _lines(run)]
    assert kinds.count("log_repaired") == 1 and kinds.count("iteration_done") == 0


@pytest.mark.parametrize(
    ("file", "content", "problem"),
    [
        ("config.yaml", "samples: [4\n", "is not valid YAML"),
        ("config.yaml", "- just\n- a list\n", "does not hold a mapping of settings"),
        ("config.yaml", "samples: many\n", "is not a valid search config"),
        ("run.json", '{"status": "runn', "is not valid JSON"),
        ("iter_001/cand_000/candidate.json", '{"has_code": true}', "does not hold a valid candidate record"),
        ("iter_000/cand_000/result.json", '{"results": [{"seed": 0}]}', "does not hold a valid training"),
    ],
)
def test_a_damaged_file_is_one_clear_error_before_anything_changes(tmp_path, file, content, problem):
    run = make_run(tmp_path)
    (run / file).write_text(content)
    before = {p.name: p.read_bytes() for p in (run / "run.json", run / "events.jsonl")}
    with pytest.raises(RunFolderError) as info:
        resume(run)
    message = str(info.value)
    assert message.startswith(f"{run / file}: {problem}") and "\n" not in message
    assert ("resume" in message) or ("restore" in message)  # what to do
    assert {p.name: p.read_bytes() for p in (run / "run.json", run / "events.jsonl")} == before


def test_report_calls_a_dead_run_interrupted(tmp_path):
    run = make_run(tmp_path, iterations=3)  # killed in iteration 2: run.json still says running
    store = RunStore(run)
    assert build_summary(run)["status"] == "running"  # this process wrote it and is alive
    store.update_run(heartbeat=time.time() - 4 * HEARTBEAT_S)
    assert build_summary(run)["status"] == "interrupted"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    store.update_run(heartbeat=time.time(), pid=int(gone.stdout))  # killed just now: fresh heartbeat
    assert build_summary(run)["status"] == "interrupted"
    store.set_status("failed")
    assert build_summary(run)["status"] == "failed"


def test_a_new_search_is_checked_before_its_folder_exists(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "start.py").write_text(
        "import jax.numpy as jnp\n\ndef compute_reward(state, action, next_state):\n"
        "    up = jnp.cos(next_state.theta)\n    return up, {'up': up}\n"
    )
    with FakeLLMServer(owned_by="me") as server:
        config = SearchConfig(task="CartPole-v1", llm=f"openai:m@{server.openai_url}", init="start.py")
        _, ref, resolved = prepare(config)
        assert server.request_count == 0  # a model-list GET, no completion: nothing paid for
    assert ref.name == "CartPole-v1" and resolved.timesteps is not None
    assert resolved.init == str(tmp_path / "start.py")  # a resumed run finds it from any folder
    assert not list(tmp_path.glob("runs"))


def test_a_search_where_nothing_trained_says_why(tmp_path, capsys):
    from rewardlab.api.cli import _print_result

    run = tmp_path / "run"
    run.mkdir()
    failed = [
        {"id": "r0-i0-c0", "status": "check_failed", "message": "trace: no field foo"},
        {"id": "r0-i0-c1", "status": "no_code", "message": "the reply contains no code"},
    ]
    summary = {"iterations": [{"candidates": failed}], "final": None}
    (run / "summary.json").write_text(json.dumps(summary))
    assert _print_result(run) == 1
    err = capsys.readouterr().err
    assert "see the messages above" not in err
    assert "check_failed: trace: no field foo; no_code: the reply contains no code" in err
