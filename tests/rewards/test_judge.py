"""The LLM judge (rewards/judge.py): answers, placement, cache, degradation, a killed labelling resumed.

No training here (see test_judge_train.py): segments are built by hand, so every test takes well under a
second except the ones that start a child process or wait for a timeout.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from typing import NamedTuple

import numpy as np
import pytest
from fake_openai import FakeLLMServer, Raw, Reply, Sleep

from rewardlab.llm.errors import LLMError
from rewardlab.llm.retry import RetryPolicy
from rewardlab.llm.scripted import ScriptedBackend
from rewardlab.rewards.host import Segment, check_output
from rewardlab.rewards.judge import (
    JudgeConfigError,
    JudgeReward,
    JudgeSettings,
    Objective,
    judge_messages,
    parse_answer,
    read_objective,
)
from rewardlab.tasks.ultimatum import describe_episode, min_offer

OBJ = Objective("Accept only offers that give me at least 30 % of the coins.")
FAST = RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.02, max_total_wait_s=0.5)


class S(NamedTuple):
    """A stand-in for the Ultimatum state (a pytree): the judge only sees numpy leaves."""

    offer: np.ndarray


def segment(offers: np.ndarray, actions: np.ndarray, done: np.ndarray) -> Segment:
    state = S(np.asarray(offers))
    return Segment(state, np.asarray(actions), state, np.asarray(done), np.zeros(done.shape, np.float32))


def oracle_text(description: str) -> str:
    k = int(re.search(r"offered me (\d+) of", description).group(1))
    return "Yes" if (k >= min_offer(0.3)) == ("I accepted" in description) else "No"


def oracle(messages) -> str:
    return oracle_text(messages[-1]["content"].split("The episode to judge:")[1])


def body_oracle(body, _choice) -> str:
    return oracle(body["messages"])


def every_episode(lead=(2, 3, 11)) -> Segment:
    offers = np.broadcast_to(np.arange(11), lead).copy()
    actions = (np.arange(np.prod(lead)).reshape(lead) // 11) % 2
    return segment(offers, actions, np.ones(lead, bool))


def test_parse_answer_reads_verdicts_and_refuses_the_rest():
    yes = ["Yes", "yes.", "**Yes**", "Answer: yes", "YES, no doubt", " yes\n", "I think so: yes"]
    no = ["No", "no.", "Final answer: No", "No, because the share is too small"]
    unclear = ["", None, "unknown", "Maybe", "it could be yes or no", "42", "**Unknown.**"]
    assert [parse_answer(t) for t in yes] == [True] * len(yes)
    assert [parse_answer(t) for t in no] == [False] * len(no)
    assert [parse_answer(t) for t in unclear] == [None] * len(unclear)


def test_objective_file_with_examples_and_its_errors(tmp_path):
    f = tmp_path / "obj.txt"
    f.write_text("accept fair offers\n\n---\nyes: I got 5\n\nNo: I got 1\n")
    obj = read_objective(f)
    assert obj.text == "accept fair offers" and obj.examples == (("I got 5", True), ("I got 1", False))
    assert "I got 5 -> Yes" in judge_messages(obj, "x")[-1]["content"]
    with pytest.raises(JudgeConfigError, match="does not exist"):
        read_objective(tmp_path / "missing.txt")
    f.write_text("objective\n---\nmaybe: something\n")
    with pytest.raises(JudgeConfigError, match=r"obj.txt:3: an example must read"):
        read_objective(f)
    f.write_text("\n---\nyes: a\n")
    with pytest.raises(JudgeConfigError, match="states no objective"):
        read_objective(f)


def test_reward_is_the_verdict_at_episode_ends_and_repeats_are_not_asked():
    backend = ScriptedBackend(oracle)
    judge = JudgeReward(OBJ, describe_episode, backend)
    offers = np.array([[2, 2, 5, 9], [2, 5, 5, 0]])
    actions = np.array([[1, 1, 1, 0], [0, 0, 1, 0]])
    done = np.array([[True, False, True, True], [True, True, False, True]])
    seg = segment(offers, actions, done)
    out = check_output(judge, seg, judge(seg))["judge"]
    # episode ends: (2 accepted: no) (5 accepted: yes) (9 rejected: no) (2 rejected: yes) (5 rejected: no)
    # (0 rejected: yes); steps that do not end an episode get 0
    assert out.tolist() == [[0, 0, 1, 0], [1, 0, 0, 1]]
    assert len(backend.calls) == 6  # six distinct descriptions among the six ends
    judge(seg)
    st = judge.stats()
    assert len(backend.calls) == 6 and st["requests"] == 6 and st["episodes"] == 12
    assert st["yes"] == 3 and st["no"] == 3 and st["defaults"] == 0 and st["llm_calls_saved"] == 6


def test_unclear_and_failed_answers_give_the_default_and_are_counted():
    replies = {0: "", 1: "I cannot tell", 2: "unknown", 3: "Yes"}

    def script(messages):
        k = int(re.search(r"offered me (\d+) of", messages[-1]["content"]).group(1))
        if k == 4:
            raise LLMError("the server fell over")
        return replies.get(k, "No")

    judge = JudgeReward(OBJ, describe_episode, ScriptedBackend(script), settings=JudgeSettings(default=0.5))
    seg = segment(np.arange(6)[None], np.ones((1, 6), int), np.ones((1, 6), bool))
    out = judge(seg)["judge"]
    assert out.tolist() == [[0.5, 0.5, 0.5, 1.0, 0.5, 0.0]]
    st = judge.stats()
    assert (st["unknown"], st["failed"], st["defaults"], st["yes"], st["no"]) == (3, 1, 4, 1, 1)
    assert "fell over" in judge.errors[0]


def test_disk_cache_answers_a_second_judge_without_requests(tmp_path, fake_llm_factory):
    from rewardlab.llm.openai_backend import OpenAIBackend

    seg = every_episode()
    with fake_llm_factory(Sleep(0.2, Reply(texts=body_oracle))) as server:  # slow enough to overlap
        first = JudgeReward(
            OBJ, describe_episode, OpenAIBackend("m", base_url=server.openai_url, retry=FAST),
            cache_dir=tmp_path, settings=JudgeSettings(concurrency=4),
        )
        a = first(seg)["judge"]
        asked = len(server.bodies("/chat/completions"))
        assert asked == 22 and first.stats()["requests"] == 22  # 11 offers x 2 decisions
        assert 1 < server.max_in_flight <= 4  # asked concurrently, within the limit
        backend = OpenAIBackend("m", base_url=server.openai_url, retry=FAST)
        second = JudgeReward(OBJ, describe_episode, backend, cache_dir=tmp_path)
        b = second(seg)["judge"]
        assert len(server.bodies("/chat/completions")) == asked  # nothing asked twice
        assert second.stats()["cache_hits"] == 22 and second.stats()["requests"] == 0
    np.testing.assert_array_equal(a, b)
    truth = (seg.states.offer >= 3) == (seg.actions == 1)
    np.testing.assert_array_equal(a, truth.astype(np.float32))
    ledger = [json.loads(x) for x in (tmp_path / "ledger.jsonl").read_text().splitlines()]
    assert sum(not e["cached"] for e in ledger) == 22 and sum(e["cached"] for e in ledger) == 22


def test_malformed_empty_and_slow_http_answers_degrade_to_the_default(tmp_path, fake_llm_factory):
    from rewardlab.llm.openai_backend import OpenAIBackend

    with fake_llm_factory(Reply(texts=body_oracle)) as server:
        # one malformed body, one empty answer, one too slow (twice: the retry is slow too)
        server.push(Raw("{not json"), Reply(texts=""), Sleep(5.0), Sleep(5.0))
        backend = OpenAIBackend("m", base_url=server.openai_url, retry=FAST, timeout_s=0.5)
        settings = JudgeSettings(concurrency=1, answer_timeout_s=1.0, default=0.25)
        judge = JudgeReward(OBJ, describe_episode, backend, cache_dir=tmp_path, settings=settings)
        seg = segment(np.arange(6)[None], np.ones((1, 6), int), np.ones((1, 6), bool))
        out = judge(seg)["judge"]
    st = judge.stats()
    assert st["failed"] == 2 and st["unknown"] == 1 and st["defaults"] == 3
    # offers 0..5, all accepted: the first three were the broken answers, the rest agree with the objective
    assert out[0].tolist() == [0.25, 0.25, 0.25, 1.0, 1.0, 1.0]


SIMPLE = textwrap.dedent(
    """
    def simple_describe(state, action, next_state):
        return f"The proposer offered me {int(state.offer)} of the 10 coins and I accepted."
    """
)
exec(SIMPLE)  # the parent and the child must describe episodes identically (the child skips jax/gymnax)

CHILD = textwrap.dedent(
    """
    from typing import NamedTuple
    import numpy as np
    from rewardlab.llm.openai_backend import OpenAIBackend
    from rewardlab.rewards.host import Segment
    from rewardlab.rewards.judge import JudgeReward, JudgeSettings, Objective
    {simple}
    class S(NamedTuple):
        offer: np.ndarray
    state = S(np.arange(11)[None])
    done = np.ones((1, 11), bool)
    seg = Segment(state, np.ones((1, 11), int), state, done, np.zeros((1, 11), np.float32))
    judge = JudgeReward(Objective({obj!r}), simple_describe, OpenAIBackend("m", base_url={url!r}),
                        cache_dir={cache!r}, settings=JudgeSettings(concurrency=1))
    judge(seg)
    """
)


def test_a_killed_labelling_resumes_from_its_cache(tmp_path, fake_llm_factory):
    """A child asking one description at a time is killed mid-way; a rerun asks only the unanswered."""
    from rewardlab.llm.openai_backend import OpenAIBackend

    with fake_llm_factory(Reply(texts=body_oracle)) as server:
        server.push(*[Reply(texts=body_oracle)] * 4, Sleep(60.0))  # the fifth request hangs
        code = CHILD.format(simple=SIMPLE, obj=OBJ.text, url=server.openai_url, cache=str(tmp_path))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        child = subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while len(server.bodies("/chat/completions")) < 5 and time.monotonic() < deadline:
                assert child.poll() is None, "the labelling child ended before it was killed"
                time.sleep(0.05)
        finally:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        assert len(server.bodies("/chat/completions")) == 5
        backend = OpenAIBackend("m", base_url=server.openai_url, retry=FAST)
        judge = JudgeReward(OBJ, simple_describe, backend, cache_dir=tmp_path)  # noqa: F821 (exec above)
        judge(segment(np.arange(11)[None], np.ones((1, 11), int), np.ones((1, 11), bool)))
        st = judge.stats()
    assert st["cache_hits"] == 4 and st["requests"] == 7  # the hung one and the six never asked
    assert len(server.bodies("/chat/completions")) == 12


@pytest.fixture
def fake_llm_factory():
    return FakeLLMServer


def test_ultimatum_describer_and_human_reward_agree_with_the_objective():
    """22 distinct descriptions (11 offers x 2 decisions); the oracle's verdict on each is the human one."""
    import jax.numpy as jnp

    from rewardlab.rewards.program import load_reward_fn
    from rewardlab.tasks.ultimatum import HUMAN_SOURCE, EnvState
    from rewardlab.types import RewardProgram

    human = load_reward_fn(RewardProgram("human", HUMAN_SOURCE.format(min_k=min_offer(0.3)), "human"))
    texts = set()
    for k in range(11):
        for a in (0, 1):
            s = EnvState(offer=jnp.int32(k), accepted=jnp.bool_(False), time=0)
            ns = EnvState(offer=jnp.int32(k), accepted=jnp.bool_(a == 1), time=1)
            text = describe_episode(s, np.int32(a), ns)
            texts.add(text)
            total, _ = human(s, jnp.int32(a), ns)
            assert float(total) == (1.0 if oracle_text(text) == "Yes" else 0.0), text
            assert float(total) == float((k >= 3) == (a == 1))
    assert len(texts) == 22
