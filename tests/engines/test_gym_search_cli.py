"""Gymnasium tasks through the command line, by subprocess: a user's Gymnasium file and a MuJoCo env.

A small LLM-free search on `slide_env.py:make_task` (a user's `gymnasium.Env` in a folder outside the
package) is SIGKILLed while iteration 1's batch trains in an `sb3` child and resumed: nothing is lost,
nothing trained twice. A search on `gymnasium:InvertedPendulum-v5` runs to its report. Bad references
exit 2 with one line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from run_watch import events as read_events
from run_watch import kill_when, trained_once, training

from .gym_user_env import write_gym_env

pytestmark = pytest.mark.slow


def _cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "rewardlab.cli", *args]


def _run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(_cmd(*args), capture_output=True, text=True, timeout=timeout, check=False)


def _search_args(ref: str, out: Path, *extra: str) -> list[str]:
    return [
        "search", ref,
        *("--samples", "2", "--iterations", "2", "--final-seeds", "1", "--confirm-top", "0"),
        *("--timesteps", "512", "--checkpoints", "1", "--eval-episodes", "2", "--out", str(out)),
        *extra,
    ]


def test_search_on_a_users_gymnasium_env_killed_in_training_and_resumed(tmp_path):
    (tmp_path / "project").mkdir()
    env_file = write_gym_env(tmp_path / "project")
    out = tmp_path / "runs"
    proc = subprocess.Popen(_cmd(*_search_args(f"{env_file}:make_task", out)), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    # SIGKILL while iteration 1's batch trains in an sb3 child that imported the user's file
    run_dir = kill_when(proc, out, "Slide-v0-*", training("r0-i1-"),
                        "the search never reached iteration 1's training", timeout_s=600)
    resumed = _run("resume", str(run_dir))
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-3000:]
    events = read_events(run_dir)
    trained = trained_once(events)  # trained, or recovered from a batch delivered just before the kill
    assert set(trained) == {f"r0-i{i}-c{c}" for i in range(2) for c in range(2)}
    assert max(trained.values()) == 1, trained  # nothing trained twice
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "finished" and (run_dir / "report.html").exists()
    assert all(row["failed"] == 0 for row in summary["final"]["table"].values())
    result = json.loads(next(run_dir.glob("iter_001/cand_000/result.json")).read_text())
    assert [r["status"] for r in result["results"]] == ["ok"]
    assert result["results"][0]["extra"]["engine"] == "sb3"
    assert sorted(p.name for p in env_file.parent.iterdir()) == ["slide_env.py"]


def test_search_on_gymnasium_inverted_pendulum(tmp_path):
    out = tmp_path / "runs"
    args = _search_args("gymnasium:InvertedPendulum-v5", out)  # one PPO update (8 x 128 steps) per candidate
    args[args.index("--iterations") + 1] = "1"
    args[args.index("--final-seeds") + 1] = "0"
    proc = _run(*args)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    run_dir = next(out.glob("gymnasium_InvertedPendulum-v5-*"))
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "finished"
    results = [json.loads(p.read_text()) for p in run_dir.glob("iter_*/cand_*/result.json")]
    assert len(results) == 2
    for res in results:
        (r,) = res["results"]
        assert r["status"] == "ok" and r["extra"]["engine"] == "sb3" and len(r["checkpoints"]) == 1
        assert 1 <= r["checkpoints"][0]["fitness"] <= 1000


def test_bad_gymnasium_references_exit_2_with_one_line(tmp_path):
    bad = _run("train", "gymnasium:CartPol-v1", "--steps", "512")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0, bad.stderr
    assert "did you mean CartPole-v1" in bad.stderr
    folder = tmp_path / "project"
    folder.mkdir()
    source = (folder / "slide_env.py")
    write_gym_env(folder)
    source.write_text(source.read_text().replace('"t": "env.t"', '"t": "env.steps"'))
    missing = _run("train", f"{source}:make_task", "--steps", "512")
    assert missing.returncode == 2 and missing.stderr.strip().count("\n") == 0, missing.stderr
    assert "has no attribute 'steps'" in missing.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["slide_env.py"]
