"""ELLM inside a training, end to end: `rewardlab train Crafting-v0 --reward sparse+ellm --llm openai:...`.

The LLM is the fake OpenAI server on 127.0.0.1 answering with the task's rule-based goal suggester, the
embedder the bundled MiniLM: real HTTP, a real sentence model and a real (tiny) PPO training. The bad
specs are refused before anything trains, with one line and exit status 2.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from fake_openai import FakeLLMServer, Raw, Reply, Sleep

from rewardlab import cli
from rewardlab.tasks.crafting import suggest_goals

TINY = [
    "--set", "num_envs=16", "--set", "num_steps=32", "--set", "hidden=32,32", "--set", "eval_episodes=8",
    "--set", "n_checkpoints=2",
]
LLM = ["--llm", "scripted:x.json"]


def goals_reply(body, _choice) -> str:
    caption = body["messages"][-1]["content"].split("What the agent sees and has:\n")[1].split("\n\n")[0]
    return "\n".join(f"- {g}" for g in suggest_goals(caption))


@pytest.mark.slow
def test_cli_ellm_training_rewards_reach_the_update_and_broken_answers_are_counted(tmp_path, capsys):
    out = tmp_path / "res.json"
    with FakeLLMServer(Reply(texts=goals_reply)) as server:
        server.push(Raw("{not json"), Reply(texts=""))
        argv = [
            "train", "Crafting-v0", "--reward", "sparse+ellm", "--llm", f"openai:m@{server.openai_url}",
            "--seeds", "1", "--steps", "2048", "--ellm-cache", str(tmp_path / "cache"), "--no-progress",
            "--json", str(out), "--ellm-threshold", "0.6", *TINY,
        ]
        assert cli.main(argv) == 0, capsys.readouterr().err
        asked = len(server.bodies("/chat/completions"))
    res = json.loads(out.read_text())
    st = res[0]["extra"]["host_rewards"]["ellm"]
    assert st["requests"] == asked > 2 and st["steps"] == 2048
    assert st["failed"] == 1 and st["unclear"] >= 1  # the malformed body and the empty answer
    assert st["rewarded"] > 0 and st["llm_calls_saved"] > 0
    last = res[0]["checkpoints"][-1]["components"]
    assert set(last) == {"env", "ellm"}
    assert max(c["components"]["ellm"]["max"] for c in res[0]["checkpoints"]) >= 0.6
    captured = capsys.readouterr()
    printed = captured.out
    assert "ellm: 2,048 steps" in printed and "1 failed requests" in printed
    assert "Loading weights" not in captured.err  # transformers' bar for the local sentence model
    assert (tmp_path / "cache" / "ledger.jsonl").exists()


def caption_of(body) -> str:
    return body["messages"][-1]["content"].split("What the agent sees and has:\n")[1].split("\n\n")[0]


@pytest.mark.slow
def test_a_killed_ellm_training_resumes_with_its_cache(tmp_path, capsys):
    """`rewardlab train ... sparse+ellm` in a child process, one goal request at a time; the sixth request
    hangs and the child is killed (SIGKILL) mid-training. The same command again answers the five captions
    that were answered from the disk cache: it never sends them to the server again."""
    out = tmp_path / "res.json"
    with FakeLLMServer(Reply(texts=goals_reply)) as server:
        server.push(*[Reply(texts=goals_reply)] * 5, Sleep(120.0))
        argv = [
            "train", "Crafting-v0", "--reward", "sparse+ellm", "--llm", f"openai:m@{server.openai_url}",
            "--seeds", "1", "--steps", "2048", "--ellm-cache", str(tmp_path / "cache"), "--no-progress",
            "--ellm-concurrency", "1", *TINY,
        ]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        child = subprocess.Popen(
            [sys.executable, "-m", "rewardlab.cli", *argv], env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 600
            while len(server.bodies("/chat/completions")) < 6:
                assert child.poll() is None, "the training ended before it was killed"
                assert time.monotonic() < deadline, "the training never asked a sixth time"
                time.sleep(0.05)
        finally:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        before = server.bodies("/chat/completions")
        assert len(before) == 6  # one at a time: the sixth hangs, nothing after it was asked
        answered = {caption_of(b) for b in before[:5]}

        assert cli.main([*argv, "--json", str(out)]) == 0, capsys.readouterr().err
        again = server.bodies("/chat/completions")[6:]
    st = json.loads(out.read_text())[0]["extra"]["host_rewards"]["ellm"]
    assert st["requests"] == len(again) and st["cache_hits"] >= 5
    assert not answered & {caption_of(b) for b in again}  # the cached captions were not asked again
    assert caption_of(before[5]) in {caption_of(b) for b in again}  # the one that hung was
    assert st["rewarded"] > 0 and st["steps"] == 2048


@pytest.mark.parametrize(
    ("task", "extra", "message"),
    [
        ("CartPole-v1", ["--llm", "scripted:x.json"], "has no caption"),
        ("Crafting-v0", [], "name the LLM with --llm"),
        ("Crafting-v0", [*LLM, "--embedder", "{tmp}/nowhere"], "is not a folder"),
        ("Crafting-v0", [*LLM, "--embedder", "{tmp}"], "holds no sentence-transformers"),
        ("Crafting-v0", [*LLM, "--ellm-threshold", "2"], "cosine similarity in"),
    ],
)
def test_cli_rejects_bad_ellm_specs_before_training(tmp_path, capsys, task, extra, message):
    argv = ["train", task, "--reward", "sparse+ellm", *[x.format(tmp=tmp_path) for x in extra]]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(message, err), err


def test_cli_checks_the_spec_before_building_the_task(monkeypatch, capsys):
    """Building a task costs seconds (imports, a compiled check); a spec missing its --llm costs nothing."""
    from rewardlab.tasks import ref

    def never(*_args):
        raise AssertionError("the task was built before the spec was checked")

    monkeypatch.setattr(ref, "resolve", never)
    assert cli.main(["train", "Crafting-v0", "--reward", "sparse+ellm"]) == 2
    assert "name the LLM with --llm" in capsys.readouterr().err


def test_cli_names_the_extra_when_sentence_transformers_is_missing(monkeypatch, capsys):
    from rewardlab.rewards import embedder

    def missing() -> None:
        raise embedder.EmbedderError(embedder.INSTALL_HINT)

    monkeypatch.setattr(embedder, "check_libraries", missing)
    assert cli.main(["train", "Crafting-v0", "--reward", "ellm", "--llm", "scripted:x.json"]) == 2
    assert "pip install 'rewardlab[ellm]'" in capsys.readouterr().err


def test_reward_specs_name_ellm_without_an_argument():
    from rewardlab.search.host_specs import parse_reward_spec

    assert parse_reward_spec("ellm").host == (("ellm", ""),) and parse_reward_spec("ellm").code is None
    spec = parse_reward_spec("sparse+ellm")
    assert spec.code == "sparse" and spec.host == (("ellm", ""),)
    assert parse_reward_spec("human").host == () and parse_reward_spec("human").code == "human"
    with pytest.raises(ValueError, match="unknown reward kind 'ellm:x'"):
        parse_reward_spec("sparse+ellm:x")
