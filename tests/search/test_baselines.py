"""Host reward sources as search baselines: `rewardlab search TASK --baseline judge:obj.txt ...`.

The fast tests check that every bad spec is one line, exit status 2, and no run folder. The slow one runs
a real search on Ultimatum-v0 (the LLM-free proposer) with an LLM judge baseline asking the fake OpenAI
server, kills it (SIGKILL) while the judge baseline trains, resumes it (the code rows are not trained
again, the judge's cached answers are not asked again), then resumes a run killed after every row was
trained (nothing is trained again).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_openai import FakeLLMServer, Reply, Sleep

from rewardlab import cli
from rewardlab.runfolder import Layout, read_final, read_final_partial, write_final_partial
from rewardlab.search.baselines import options
from rewardlab.search.config import SearchConfig
from rewardlab.tasks.ultimatum import OBJECTIVE, min_offer

LLM = "scripted:{tmp}/llm.json"
TINY = [
    *("--samples", "2", "--iterations", "1", "--final-seeds", "2", "--confirm-top", "0"),
    *("--timesteps", "4096", "--quiet"),
]


def tiny(tmp: Path) -> list[str]:
    """TINY with the test session's compile cache for the training worker."""
    return [*TINY, "--set", f"jax_cache_dir={os.environ.get('REWARDLAB_JAX_CACHE', tmp / 'jax')}"]


def oracle(body, _choice) -> str:
    text = body["messages"][-1]["content"].split("The episode to judge:")[1]
    k = int(re.search(r"offered me (\d+) of", text).group(1))
    return "Yes" if (k >= min_offer(0.3)) == ("I accepted" in text) else "No"


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "obj.txt").write_text(OBJECTIVE + "\n")
    (tmp_path / "llm.json").write_text('["no code here"]')
    (tmp_path / "r.py").write_text("def compute_reward(state, action, next_state):\n    return 0.0, {}\n")
    return tmp_path


@pytest.mark.parametrize(
    ("task", "args", "message"),
    [
        ("Ultimatum-v0", ["--baseline", "foo:bar"], "unknown reward kind 'foo:bar'"),
        ("Ultimatum-v0", ["--baseline", "judge:{tmp}/obj.txt"], "name the LLM with --baseline-llm"),
        ("Ultimatum-v0", ["--baseline", "judge:{tmp}/no.txt", "--llm", LLM], "no.txt does not exist"),
        ("Ultimatum-v0", ["--baseline", "human"], "names no host reward"),
        ("Ultimatum-v0", ["--baseline", "sparse+ellm", "--final-seeds", "0"], "--final-seeds 0 skips"),
        ("Ultimatum-v0", ["--baseline", "{tmp}/r.py+judge:{tmp}/obj.txt", "--baseline-llm", LLM],
         "without the sandbox"),
        ("Ultimatum-v0", ["--init", "judge:{tmp}/obj.txt"], "not code the LLM can edit.*--baseline judge:"),
        ("Ultimatum-v0", ["--baseline", "vlm:a fair offer"], "--baseline-encoder DIR"),
        ("Ultimatum-v0", ["--baseline", "judge:{tmp}/obj.txt", "--baseline-llm", "nope:x"], "nope"),
        ("CartPole-v1", ["--baseline", "judge:{tmp}/obj.txt", "--baseline-llm", LLM],
         "has no describe_episode"),
        ("CartPole-v1", ["--baseline", "sparse+ellm", "--baseline-llm", LLM], "has no caption"),
    ],
)
def test_search_rejects_bad_baselines_before_anything_is_created(files, capsys, task, args, message):
    out = files / "runs"
    argv = ["search", task, *[a.format(tmp=files) for a in args], "--out", str(out), "--no-llm-check"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(message, err), err
    assert not out.exists()


def test_search_names_the_extra_an_ellm_baseline_needs(files, capsys, monkeypatch):
    from rewardlab.rewards import embedder

    def missing() -> None:
        raise embedder.EmbedderError(embedder.INSTALL_HINT)

    monkeypatch.setattr(embedder, "check_libraries", missing)
    llm = LLM.format(tmp=files)
    argv = ["search", "Crafting-v0", "--baseline", "ellm", "--llm", llm, "--out", str(files)]
    assert cli.main(argv) == 2
    assert "pip install 'rewardlab[ellm]'" in capsys.readouterr().err


def test_baselines_ask_the_baseline_llm_else_the_search_llm_and_survive_config_yaml(tmp_path):
    config = SearchConfig(llm="scripted:a.json", baselines=["sparse+ellm"])  # a list, as YAML gives it
    assert config.baselines == ("sparse+ellm",) and options(config).llm == "scripted:a.json"
    both = SearchConfig(llm="scripted:a.json", baseline_llm="openai:m@http://127.0.0.1:1/v1")
    assert options(both).llm == "openai:m@http://127.0.0.1:1/v1"
    assert options(SearchConfig()).llm is None
    layout = Layout(tmp_path)
    assert options(config, layout).ellm_cache == str(tmp_path / "ellm_cache")
    import yaml

    again = SearchConfig.from_dict(yaml.safe_load(yaml.safe_dump(config.to_dict())))
    assert again == config
    with pytest.raises(ValueError, match="twice"):
        SearchConfig(baselines=("ellm", "ellm"))


def _wait(predicate, child: subprocess.Popen, what: str, timeout_s: float = 600.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert child.poll() is None, f"the search ended before {what}: {child.returncode}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.slow
def test_a_judge_baseline_is_a_final_row_and_a_killed_search_does_not_train_it_twice(files, capsys):
    out = files / "runs"
    with FakeLLMServer(Reply(texts=oracle)) as server:
        server.push(*[Reply(texts=oracle)] * 5, Sleep(120.0))  # the sixth judge request hangs, not the others
        url = f"openai:m@{server.openai_url}"
        argv = ["search", "Ultimatum-v0", *tiny(files), "--baseline", f"judge:{files}/obj.txt",
                "--baseline-llm", url, "--out", str(out)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        child = subprocess.Popen(
            [sys.executable, "-m", "rewardlab.cli", *argv], env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        def cached() -> int:  # answers the judge has stored in the run folder's cache
            return len(list(out.glob("*/judge_cache/*/*.json")))

        try:  # killed while the sixth request hangs, once five answers are on disk
            _wait(lambda: len(server.bodies("/chat/completions")) >= 6 and cached() >= 5, child, "5 answers")
        finally:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        answered = cached()  # other requests went on beside the hung one: at least five, maybe more
        (run,) = out.iterdir()
        layout = Layout(run)
        partial = read_final_partial(layout)
        assert read_final(layout) is None and partial is not None
        assert set(partial.results) == {"method", "human", "sparse"}  # the code rows, trained in the worker
        before = len(server.bodies("/chat/completions"))

        assert cli.main(["resume", str(run), "--quiet"]) == 0
        printed = capsys.readouterr().out
        final = read_final(layout)
        judge = f"judge:{files}/obj.txt"
        assert set(final.results) == {"method", "human", "sparse", judge}
        for name in ("method", "human", "sparse"):  # not trained again: the very records of the killed run
            assert [r.to_dict() for r in final.results[name]] == [r.to_dict() for r in partial.results[name]]
        rows = final.results[judge]
        assert len(rows) == 2 and all(r.ok for r in rows) and [r.seed for r in rows] == list(final.seeds)
        st = rows[0].extra["host_rewards"][judge]
        asked_again = len(server.bodies("/chat/completions")) - before
        assert st["requests"] == asked_again and st["cache_hits"] == answered >= 5
        assert st["requests"] + st["cache_hits"] == st["descriptions"] == 22  # 11 offers x accept/reject
        assert st["defaults"] == 0 and min(r.max_fitness for r in rows) >= 0.8  # oracle answers train it
        assert re.search(r"judge:obj\.txt +mean ", printed) and "22 distinct descriptions" in printed
        assert "judge:obj.txt" in (run / "report.html").read_text()
        summary = json.loads((run / "summary.json").read_text())
        assert summary["final"]["table"][judge]["n"] == 2
        assert not layout.final_partial.exists()

        # killed after every row was trained, before results.json: the resumed run trains nothing
        layout.final_results.unlink()
        write_final_partial(layout, final)
        count = len(server.bodies("/chat/completions"))
        assert cli.main(["resume", str(run), "--quiet"]) == 0
        assert read_final(layout).to_dict() == final.to_dict()
        assert len(server.bodies("/chat/completions")) == count
    events = [json.loads(line) for line in layout.events.read_text().splitlines()]
    started = [e for e in events if e["event"] == "final_started"]
    assert started[-2]["already_trained"] == ["human", "method", "sparse"]
    assert sorted(started[-1]["already_trained"]) == sorted(final.results)


def test_the_final_table_shows_host_rows_after_the_three_and_what_their_llm_did():
    from rewardlab.report.headline import row_label, table_lines

    row = {"mean": 0.5, "iqm": 0.5, "ci": [0.4, 0.6], "n": 2, "failed": 0}
    table = {
        "sparse+ellm": {**row, "host": ["ellm: 2,048 steps"]},
        "human": row,
        "judge:/abs/dir/obj.txt": {**row, "failed": 1, "errors": ["failed: boom"]},
        "method": row,
    }
    lines = table_lines(table)
    names = [line.split()[0] for line in lines if " mean " in line]
    assert names == ["method", "human", "judge:obj.txt", "sparse+ellm"]
    assert "ellm: 2,048 steps" in lines[-1] and any("1 run(s) failed: failed: boom" in x for x in lines)
    assert row_label("human+judge:C:\\x\\o.txt") == "human+judge:o.txt" and row_label("vlm:a/b") == "vlm:a/b"
