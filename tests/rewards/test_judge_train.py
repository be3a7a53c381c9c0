"""The judge inside a training: its rewards reach the update, and `rewardlab train --reward judge:...` works.

Ultimatum-v0 at 4,096 steps: in benchmarks/judge.py (3 seeds) both the human reward and an oracle judge
reach agreement 1.0 with the objective, and the env payoff (sparse) stays at 0.73 (8 of 11 offers: it
accepts everything). A judge whose rewards did not reach the update would train a policy that decides at
random; the threshold 0.9 sits between.
"""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from fake_openai import FakeLLMServer, Raw, Reply

from rewardlab import cli
from rewardlab.engines import ppo_jax
from rewardlab.llm.scripted import ScriptedBackend
from rewardlab.rewards.judge import JudgeReward, Objective
from rewardlab.tasks import registry
from rewardlab.tasks.ultimatum import OBJECTIVE, min_offer

STEPS = 4096
AGREEMENT = 0.9


def oracle(messages) -> str:
    text = messages[-1]["content"].split("The episode to judge:")[1]
    k = int(re.search(r"offered me (\d+) of", text).group(1))
    return "Yes" if (k >= min_offer(0.3)) == ("I accepted" in text) else "No"


def no_code(state, action, next_state):
    return 0.0, {}


@pytest.fixture(scope="module")
def oracle_training():
    task = registry.get("Ultimatum-v0")
    cfg = dataclasses.replace(task.ppo, total_timesteps=STEPS)
    backend = ScriptedBackend(oracle)
    judge = JudgeReward(Objective(OBJECTIVE), task.describe_episode, backend)
    results = ppo_jax.train_fns(task, [("judge", no_code)], cfg, seeds=[0, 1], host=[judge])
    return results, judge, backend


@pytest.mark.slow
def test_an_oracle_judge_trains_the_objective(oracle_training):
    results, judge, backend = oracle_training
    for r in results:
        assert r.ok and r.final_fitness >= AGREEMENT, [c.fitness for c in r.checkpoints]
        assert all("judge" in c.components for c in r.checkpoints)
        assert r.checkpoints[-1].components["judge"].mean > 0.8  # the policy mostly earns the judge's 1
    st = results[0].extra["host_rewards"]["judge"]
    assert st["requests"] == len(backend.calls) <= 22  # one per distinct description, ever
    assert st["episodes"] == 2 * STEPS  # every episode of both runs was judged
    assert st["defaults"] == 0 and judge.labels


@pytest.mark.slow
def test_cli_judge_training_degrades_broken_answers_and_resumes_from_its_cache(tmp_path, capsys):
    obj = tmp_path / "objective.txt"
    obj.write_text(OBJECTIVE + "\n")
    out = tmp_path / "res.json"
    with FakeLLMServer(Reply(texts=lambda body, _: oracle(body["messages"]))) as server:
        server.push(Raw("{not json"), Reply(texts="unknown"))
        argv = [
            "train", "Ultimatum-v0", "--reward", f"judge:{obj}", "--llm", f"openai:m@{server.openai_url}",
            "--seeds", "1", "--steps", str(STEPS), "--judge-cache", str(tmp_path / "cache"), "--no-progress",
            "--json", str(out),
        ]
        assert cli.main(argv) == 0
        first = len(server.bodies("/chat/completions"))
        res = json.loads(out.read_text())
        st = res[0]["extra"]["host_rewards"][f"judge:{obj}"]
        assert st["failed"] == 1 and st["unknown"] == 1 and st["requests"] == first
        assert res[0]["checkpoints"][-1]["fitness"] >= 0.8  # at most the two broken offers are wrong
        assert "1 failed requests" in capsys.readouterr().out

        assert cli.main(argv) == 0  # the same run again, with the cache the first one wrote
        res = json.loads(out.read_text())
        st = res[0]["extra"]["host_rewards"][f"judge:{obj}"]
    # only the failed request is asked again; every answer that arrived (even "unknown") is reused
    assert len(server.bodies("/chat/completions")) == first + 1
    assert st["requests"] == 1 and st["cache_hits"] == first - 1


@pytest.mark.parametrize(
    ("reward", "with_llm", "message"),
    [
        ("judge:{tmp}/missing.txt", True, "objective file .*missing.txt does not exist"),
        ("foo:bar", True, "unknown reward kind 'foo:bar'"),
        ("judge:{tmp}/obj.txt", False, "name the LLM with --llm"),
        ("{tmp}/r.py+judge:{tmp}/obj.txt", True, "pass --trusted"),
        ("human+sparse+judge:{tmp}/obj.txt", True, "combines 2 code rewards"),
    ],
)
def test_cli_rejects_bad_judge_specs_before_training(tmp_path, capsys, reward, with_llm, message):
    (tmp_path / "obj.txt").write_text("accept fair offers\n")
    (tmp_path / "r.py").write_text("def compute_reward(state, action, next_state):\n    return 0.0, {}\n")
    llm = ["--llm", "scripted:none.json"] if with_llm else []
    argv = ["train", "Ultimatum-v0", "--reward", reward.format(tmp=tmp_path), *llm]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(message, err), err


def test_cli_rejects_a_judge_on_a_task_without_a_describer(tmp_path, capsys):
    (tmp_path / "obj.txt").write_text("balance the pole\n")
    argv = ["train", "CartPole-v1", "--reward", f"judge:{tmp_path}/obj.txt", "--llm", "scripted:x.json"]
    assert cli.main(argv) == 2
    assert "has no describe_episode" in capsys.readouterr().err


def test_cli_stops_before_training_when_the_judge_llm_does_not_answer(tmp_path, capsys):
    (tmp_path / "obj.txt").write_text("accept fair offers\n")
    with FakeLLMServer() as server:
        url = server.openai_url
    argv = ["train", "Ultimatum-v0", "--reward", f"judge:{tmp_path}/obj.txt", "--llm", f"openai:m@{url}"]
    assert cli.main(argv) == 2  # the server is gone: nothing answers at its port
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and url in err, err
