"""The assistant-LLM negative generator against the project's scripted backend (no network)."""

import pytest

from rewardlab.cooper.llm_negatives import LLMNegatives, build_messages, clean_reply
from rewardlab.cooper.perturb import NegativeGenerator, NegativeRequest, accept_negative

llm = pytest.importorskip("rewardlab.llm")

REQ = NegativeRequest("(3+4)*2=", "3+4=7;7*2=14;####14", "14")


def test_messages_and_cleaning():
    msgs = build_messages(REQ)
    assert msgs[0]["role"] == "system" and "wrong" in msgs[0]["content"]
    assert REQ.question in msgs[1]["content"] and REQ.positive in msgs[1]["content"]
    assert clean_reply("```\n3+4=8\n8*2=16\n####16\n```") == "3+4=8;8*2=16;####16"


def test_accepts_only_verified_wrong_replies_with_retries():
    # 1st reply repeats the right answer (rejected), 2nd is unreadable (rejected), 3rd is a valid negative
    backend = llm.ScriptedBackend(["3+4=7;7*2=14;####14", "I cannot do that", "3+4=8;8*2=16;####16"])
    gen = LLMNegatives(backend, retries=3, concurrency=1)
    assert isinstance(gen, NegativeGenerator)
    assert gen.generate([REQ]) == ["3+4=8;8*2=16;####16"]
    assert len(backend.calls) == 3 and gen.stats["accepted"] == 1
    assert all(c.temperature == 0.7 for c in backend.calls)


def test_gives_up_after_retries():
    backend = llm.ScriptedBackend(lambda msgs: "3+4=7;7*2=14;####14")
    gen = LLMNegatives(backend, retries=2)
    assert gen.generate([REQ, REQ]) == [None, None]
    assert len(backend.calls) == 4


@pytest.mark.live
def test_live_endpoint_negatives():
    """Needs REWARDLAB_COOPER_LLM_SPEC (a rewardlab.llm backend spec), e.g. openai:model@http://host:8000/v1."""
    import os

    spec = os.environ.get("REWARDLAB_COOPER_LLM_SPEC")
    if not spec:
        pytest.skip("REWARDLAB_COOPER_LLM_SPEC is not set")
    gen = LLMNegatives.from_spec(spec)
    out = gen.generate([REQ] * 4)
    assert gen.stats["attempts"] >= 4
    assert all(n is None or accept_negative(n, REQ.reference) for n in out)
