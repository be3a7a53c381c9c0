"""benchmarks/prompts.py: the command line of each arm, and its table read back from the summaries of the
LLM searches stored in docs/results/search/llm_pendulum (real runs, numbers checked by hand against
docs/search.md)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STORED = ROOT / "docs" / "results" / "search" / "llm_pendulum"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_prompts", ROOT / "benchmarks" / "prompts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_arm_is_one_search_command_and_a_manual_llm_gets_a_folder_per_search(bench, tmp_path):
    cmd = bench.search_command("Pendulum-v1", "manual:answers/", "paper", 12, tmp_path, ["--samples", "4"])
    assert cmd[cmd.index("--llm") + 1] == "manual:answers/paper-s12"
    assert cmd[cmd.index("--reflection") + 1] == "best" and cmd[cmd.index("--seed") + 1] == "12"
    assert cmd[cmd.index("--out") + 1] == str(tmp_path / "paper-s12") and "--samples" in cmd
    api = bench.search_command("Pendulum-v1", "openai:m@http://h/v1", "elites3", 11, tmp_path, [])
    assert api[api.index("--llm") + 1] == "openai:m@http://h/v1" and api[api.index("--elites") + 1] == "3"
    assert "--reflection" not in bench.search_command("Pendulum-v1", "openai:m", "table", 11, tmp_path, [])


def test_rows_and_table_of_the_stored_searches(bench, capsys):
    every = [bench.search_row(p) for p in bench.finished_runs(STORED)]
    assert sorted((bench.arm_of(r), r["seed"]) for r in every) == [
        (arm, seed) for arm in ("elites3", "paper", "table", "table+seeds3") for seed in (11, 12, 13)
    ]
    rows = {bench.arm_of(r): r for r in every if r["seed"] == 11}
    paper = rows["paper"]
    assert [round(b, 3) for b in paper["best_per_iteration"]] == [0.721, 0.721, 0.721]
    assert paper["winner"] == "r0-i0-c0" and (paper["wins"], paper["n"]) == (5, 10)
    assert round(rows["table"]["diff"], 3) == -0.093 and rows["elites3"]["winner"] == "r0-i2-c1"

    assert bench.main(["--table", str(STORED)]) == 0
    out = capsys.readouterr().out
    assert "| Pendulum-v1 | paper | 11 | 0.721, 0.721, 0.721 | r0-i0-c0 (0.815) | 0.679 / 0.663 |" in out
    assert "Pendulum-v1 table: mean Method - Human over 3 search(es) -0.163 ± 0.0655 (s.e." in out
    assert "Pendulum-v1 table+seeds3: mean Method - Human over 3 search(es) +0.0503 ± 0.0267 (s.e." in out


def test_table_of_an_empty_folder_is_one_line_and_exit_2(bench, tmp_path, capsys):
    assert bench.main(["--table", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"no finished search under {tmp_path}"


def test_an_arm_with_several_search_seeds_is_its_own_arm(bench):
    row = {"llm": "manual:x", "reflection": "table", "elites": 1, "search_seeds": 3}
    assert bench.arm_of(row) == "table+seeds3"
    assert bench.arm_of({**row, "search_seeds": 1}) == "table"
    assert bench.arm_of({**row, "llm": None}) == "llm-free+seeds3"
