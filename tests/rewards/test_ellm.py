"""ELLM (rewards/ellm.py): goal parsing, the similarity and threshold, filtering, caches, degradation.

No training here (see test_ellm_train.py): segments are built by hand over a toy state with a toy
captioner, and a stub embedder gives hand-chosen vectors, so every expected reward is worked out by hand.
"""

from __future__ import annotations

import json
from typing import NamedTuple

import numpy as np
import pytest
from fake_openai import FakeLLMServer, Raw, Reply, Sleep

from rewardlab.llm.errors import LLMError
from rewardlab.llm.retry import RetryPolicy
from rewardlab.llm.scripted import ScriptedBackend
from rewardlab.rewards.ellm import (
    ELLMConfigError,
    ELLMReward,
    ELLMSettings,
    best_goal,
    ellm_messages,
    parse_goals,
)
from rewardlab.rewards.host import HostReward, Segment, check_output

FAST = RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.02, max_total_wait_s=0.5)


class S(NamedTuple):
    """A toy state: what is in view (0 a tree, 1 water, 2 nothing) and how much wood the agent has."""

    view: np.ndarray
    wood: np.ndarray


VIEW = {0: "You see a tree.", 1: "You see water.", 2: "You see only grass."}


def toy_caption(state, action=None, next_state=None) -> str:
    if next_state is None:
        return f"{VIEW[int(state.view)]} You have {int(state.wood)} wood."
    if int(next_state.wood) > int(state.wood):
        return "You collected wood."
    return "You drank water." if int(action) == 2 else ""


# hand-chosen unit vectors: "collect wood" is at cos 0.8 from "You collected wood.", "drink water" at 0.6
# from "You drank water.", and each is orthogonal to the other's transition
VECTORS = {
    "You collected wood.": [1.0, 0.0, 0.0],
    "You drank water.": [0.0, 1.0, 0.0],
    "collect wood": [0.8, 0.0, 0.6],
    "drink water": [0.0, 0.6, 0.8],
    "gather wood": [0.6, 0.0, 0.8],
    "rest": [0.0, 0.0, 1.0],
}


class StubEmbedder:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts):
        self.calls.append(list(texts))
        return np.asarray([VECTORS[t] for t in texts], np.float32)


def goals_for(caption: str) -> str:
    if "tree" in caption:
        return "- collect wood\n- gather wood\n- rest"
    if "water" in caption:
        return "1. drink water\n2. rest"
    return ""


def script(messages) -> str:
    return goals_for(messages[-1]["content"].split("What the agent sees and has:\n")[1])


def segment(view, wood, actions, done, next_wood=None) -> Segment:
    """Time-major (steps, envs) arrays; `next_wood` defaults to `wood` shifted by one step."""
    view, wood = np.asarray(view), np.asarray(wood)
    nxt = np.asarray(next_wood) if next_wood is not None else np.concatenate([wood[1:], wood[-1:]], axis=0)
    done = np.asarray(done, bool)
    return Segment(S(view, wood), np.asarray(actions), S(view, nxt), done, np.zeros(done.shape, np.float32))


def by_a_tree(wood) -> Segment:
    """Every step collects wood by a tree (the agent holds `wood`, then one more)."""
    wood = np.asarray(wood)
    return segment(np.zeros_like(wood), wood, np.full(wood.shape, 5), np.zeros(wood.shape, bool), wood + 1)


def source(backend=None, **kw) -> ELLMReward:
    settings = kw.pop("settings", ELLMSettings(threshold=0.5))
    backend = backend or ScriptedBackend(script)
    return ELLMReward(toy_caption, backend, StubEmbedder(), settings=settings, **kw)


def test_parse_goals_reads_lists_in_many_shapes():
    assert parse_goals("- Collect wood.\n- **Place a table**\n3) drink water") == [
        "collect wood", "place a table", "drink water"
    ]
    assert parse_goals('["collect wood", "make a pickaxe", 3]') == ["collect wood", "make a pickaxe"]
    assert parse_goals("collect wood, drink water; place a table") == [
        "collect wood", "drink water", "place a table"
    ]
    assert parse_goals("Goals:\n1. collect wood\n2. collect wood\nGoal 3: eat") == ["collect wood", "eat"]
    assert parse_goals("a b c d e f g h i j k l m n\nrest", max_goals=5) == ["rest"]  # too long: not a goal
    assert parse_goals("- a\n- b\n- c", max_goals=2) == ["a", "b"]
    assert parse_goals("") == [] and parse_goals(None) == [] and parse_goals("...\n***") == []


def test_best_goal_is_the_thresholded_max_similarity():
    vec = np.asarray([VECTORS[g] for g in ("collect wood", "gather wood", "rest")], np.float32)
    t = np.asarray(VECTORS["You collected wood."], np.float32)
    goals = ("collect wood", "gather wood", "rest")
    assert best_goal(t, goals, vec, set(), 0.5) == pytest.approx((0.8, "collect wood"))
    assert best_goal(t, goals, vec, {"collect wood"}, 0.5) == pytest.approx((0.6, "gather wood"))
    assert best_goal(t, goals, vec, {"collect wood"}, 0.7) == (0.0, None)  # 0.6 is below the threshold
    assert best_goal(t, goals, vec, set(goals), -1.0) == (0.0, None)


def test_rewards_by_hand_with_achieved_goals_filtered_across_calls():
    src = source()
    assert isinstance(src, HostReward)
    # one env, five steps: collect wood by a tree (0.8), again (the goal is achieved: "gather wood", 0.6),
    # again ("rest" is at 0 < 0.5: nothing), drink by water (0.6), walk (nothing happened: 0)
    seg = segment(
        view=[[0], [0], [0], [1], [2]], wood=[[0], [1], [2], [3], [3]], actions=[[5], [5], [5], [2], [1]],
        done=[[False]] * 5,
    )
    out = check_output(src, seg, src(seg))["ellm"]
    np.testing.assert_allclose(out[:, 0], [0.8, 0.6, 0.0, 0.6, 0.0], atol=1e-6)
    # the next call continues the episode (achieved goals remembered), then it ends and a new one starts
    seg2 = segment(
        view=[[0], [0], [0]], wood=[[3], [4], [5]], actions=[[5]] * 3, done=[[True], [False], [False]],
        next_wood=[[4], [5], [6]],
    )
    out2 = src(seg2)["ellm"]
    np.testing.assert_allclose(out2[:, 0], [0.0, 0.8, 0.6], atol=1e-6)
    st = src.stats()
    assert st["steps"] == 8 and st["events"] == 7 and st["rewarded"] == 5 and st["episodes_reset"] == 1
    assert st["captions"] == 7 and st["requests"] == 7  # each distinct state caption asked once
    assert st["strings_embedded"] == 6  # two transitions and four goals, each encoded once


def test_envs_and_runs_keep_their_own_episodes():
    src = source()
    # lead (runs=2, steps=2, envs=2): every env collects wood twice by a tree; no episode ends
    wood = np.array([[[0, 0], [1, 1]], [[0, 0], [1, 1]]])
    seg = by_a_tree(wood)
    out = src(seg)["ellm"]
    expected = np.broadcast_to(np.array([0.8, 0.6])[None, :, None], out.shape)
    np.testing.assert_allclose(out, expected, atol=1e-6)
    assert src.stats()["requests"] == 2  # "a tree, 0 wood" and "a tree, 1 wood"


def test_repeated_captions_cost_nothing_and_bad_answers_give_no_goals():
    replies = {"You see a tree. You have 0 wood.": "", "You see a tree. You have 1 wood.": "??? !!!"}

    def flaky(messages):
        caption = messages[-1]["content"].split("What the agent sees and has:\n")[1].split("\n")[0]
        if caption == "You see a tree. You have 2 wood.":
            raise LLMError("the server fell over")
        return replies.get(caption, goals_for(caption))

    backend = ScriptedBackend(flaky)
    src = source(backend)
    wood = np.arange(4)[:, None]
    seg = by_a_tree(wood)
    out = src(seg)["ellm"]
    np.testing.assert_allclose(out[:, 0], [0.0, 0.0, 0.0, 0.8], atol=1e-6)  # only the good answer pays
    st = src.stats()
    assert (st["unclear"], st["failed"], st["defaults"], st["requests"]) == (2, 1, 3, 4)
    assert "fell over" in src.errors[0]
    src(seg)  # the same captions again: nothing is asked (a failed caption keeps "no goals" this training)
    assert len(backend.calls) == 4 and src.stats()["llm_calls_saved"] == 4


def test_settings_are_checked():
    with pytest.raises(ELLMConfigError, match="cosine similarity"):
        ELLMSettings(threshold=1.5)
    with pytest.raises(ELLMConfigError, match="concurrency"):
        ELLMSettings(concurrency=0)
    msgs = ellm_messages("A crafting game.", "You see a tree.", 4)
    assert "A crafting game." in msgs[-1]["content"] and "at most 4 goals" in msgs[-1]["content"]


def body_goals(body, _choice) -> str:
    return script(body["messages"])


def many_captions() -> Segment:
    """Eight envs by a tree holding 0..7 wood, then 8..15: sixteen distinct captions."""
    wood = np.stack([np.arange(8), np.arange(8) + 8])
    return by_a_tree(wood)


def test_disk_cache_answers_a_second_source_without_requests(tmp_path):
    from rewardlab.llm.openai_backend import OpenAIBackend

    seg = many_captions()
    with FakeLLMServer(Sleep(0.2, Reply(texts=body_goals))) as server:
        first = source(OpenAIBackend("m", base_url=server.openai_url, retry=FAST), cache_dir=tmp_path,
                       settings=ELLMSettings(threshold=0.5, concurrency=4))
        a = first(seg)["ellm"]
        asked = len(server.bodies("/chat/completions"))
        assert asked == 16 and first.stats()["requests"] == 16
        assert 1 < server.max_in_flight <= 4  # asked concurrently, within the limit
        first(seg)
        assert len(server.bodies("/chat/completions")) == asked  # in memory: not asked again
        second = source(OpenAIBackend("m", base_url=server.openai_url, retry=FAST), cache_dir=tmp_path)
        b = second(seg)["ellm"]
        assert len(server.bodies("/chat/completions")) == asked  # on disk: not asked again
        assert second.stats()["cache_hits"] == 16 and second.stats()["requests"] == 0
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, np.broadcast_to(np.array([[0.8], [0.6]]), a.shape), atol=1e-6)
    ledger = [json.loads(x) for x in (tmp_path / "ledger.jsonl").read_text().splitlines()]
    assert sum(not e["cached"] for e in ledger) == 16 and sum(e["cached"] for e in ledger) == 16


def test_malformed_empty_and_slow_http_answers_give_no_goals(tmp_path):
    from rewardlab.llm.openai_backend import OpenAIBackend

    with FakeLLMServer(Reply(texts=body_goals)) as server:
        server.push(Raw("{not json"), Reply(texts=""), Sleep(5.0), Sleep(5.0))
        backend = OpenAIBackend("m", base_url=server.openai_url, retry=FAST, timeout_s=0.5)
        settings = ELLMSettings(threshold=0.5, concurrency=1, answer_timeout_s=1.0)
        src = source(backend, cache_dir=tmp_path, settings=settings)
        wood = np.arange(6)[None]
        seg = by_a_tree(wood)
        out = src(seg)["ellm"]
    st = src.stats()
    assert st["failed"] == 2 and st["unclear"] == 1 and st["defaults"] == 3 and st["requests"] == 6
    # envs 0-2 got the broken answers (no goals: 0); the rest collected wood by a tree: 0.8
    assert out[0].tolist() == pytest.approx([0.0, 0.0, 0.0, 0.8, 0.8, 0.8])
