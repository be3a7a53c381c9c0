"""The search CLI by subprocess: argument errors, and a tiny LLM-free search end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from tiny_search import tiny_search_args

from rewardlab.store import RunStore, read_json


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rewardlab.api.cli", *args], capture_output=True, text=True, timeout=timeout
    )


def test_help_and_argument_errors(tmp_path):
    helps = _cli("search", "--help")
    assert helps.returncode == 0
    for flag in (
        "--llm",
        "--samples",
        "--iterations",
        "--restarts",
        "--seeds",
        "--out",
        "--init",
        "--feedback",
        "--reflection {table,best}",
        "--elites",
    ):
        assert flag in helps.stdout
    bad = _cli("search", "CartPole-v1", "--reflection", "none", "--out", str(tmp_path))
    assert bad.returncode == 2 and "invalid choice: 'none'" in bad.stderr
    bad = _cli("search", "NoSuchTask-v0", "--out", str(tmp_path))
    assert bad.returncode == 2 and "NoSuchTask-v0" in bad.stderr
    bad = _cli("search", "CartPole-v1", "--set", "samples=0", "--out", str(tmp_path))
    assert bad.returncode == 2 and "samples must be >= 1" in bad.stderr
    assert _cli("resume", str(tmp_path)).returncode == 2
    assert not list(tmp_path.iterdir())  # nothing was created by the failed commands


@pytest.mark.slow
def test_llm_free_search_by_subprocess(tmp_path):
    proc = _cli(
        "search",
        "CartPole-v1",
        *tiny_search_args(tmp_path),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "iter 2/2" in proc.stderr  # the progress line (plain lines when not a terminal)
    run_dir = next(tmp_path.glob("CartPole-v1-*"))
    assert f"run folder: {run_dir}" in proc.stdout and "human-normalised score" in proc.stdout
    store = RunStore(run_dir)
    assert store.read_run()["status"] == "finished"
    first = read_json(store.candidate_dir(0, 0, 0) / "candidate.json")
    assert first["origin"] == "human"  # the LLM-free proposer starts from the human reward
    kids = [read_json(store.candidate_dir(0, i, j) / "candidate.json") for i, j in ((0, 1), (1, 0), (1, 1))]
    assert all(k["origin"] == "mutation" and k["parent"] for k in kids)
    sources = {(store.candidate_dir(0, i, j) / "reward.py").read_text() for i in range(2) for j in range(2)}
    assert len(sources) == 4  # deduplicated
    summary = json.loads((run_dir / "summary.json").read_text())
    assert set(summary["final"]["table"]) == {"method", "human", "sparse"}

    # confirmation: the two best and the human start, retrained on 2 fresh seeds; the best mean there wins
    (conf,) = summary["confirmation"]
    rows = {c["id"]: c for c in conf["candidates"]}
    assert 2 <= len(rows) <= 3 and "r0-i0-c0" in rows and conf["seeds"] == [500, 501]
    assert all(len(c["per_seed"]) == 2 and c["confirm_fitness"] is not None for c in rows.values())
    best = max(rows.values(), key=lambda c: c["confirm_fitness"])["confirm_fitness"]
    assert rows[conf["winner"]]["confirm_fitness"] == best
    assert read_json(run_dir / "final" / "results.json")["method"]["candidate"] == conf["winner"]
    assert "Confirmation (restart 0)" in (run_dir / "report.html").read_text()


def test_reflection_and_elites_flags_reach_the_config():
    from rewardlab.api.cli import config_from_args
    from rewardlab.cli import build_parser

    args = build_parser().parse_args(["search", "Pendulum-v1", "--reflection", "best", "--elites", "3"])
    config = config_from_args(args)
    assert (config.reflection, config.elites) == ("best", 3)
    assert config_from_args(build_parser().parse_args(["search", "Pendulum-v1"])).reflection == "table"
