"""The on-disk response cache and the usage ledger."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from rewardlab.llm import Completion, Ledger, Price, ResponseCache, Usage, cache_key, read_ledger

MSGS = [{"role": "user", "content": "hi"}]


@dataclass
class Ident:
    kind: str = "openai"
    model: str = "m"


def test_cache_round_trip_and_layout(tmp_path):
    cache = ResponseCache(tmp_path)
    completion = Completion("def f(): ...", "length", Usage(3, 4, estimated=True))
    path = cache.put(Ident(), MSGS, 1.0, 100, 0, completion)

    assert cache.get(Ident(), MSGS, 1.0, 100, 0) == completion
    key = cache_key("openai", "m", MSGS, 1.0, 100, 0)
    assert path == tmp_path / key[:2] / f"{key}.json"
    entry = json.loads(path.read_text())
    assert entry["completion"]["text"] == "def f(): ..." and entry["index"] == 0
    assert [p.name for p in path.parent.iterdir()] == [path.name], "no temporary files left behind"


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "anthropic"},
        {"model": "m2"},
        {"messages": [{"role": "user", "content": "hi!"}]},
        {"messages": [{"role": "system", "content": "hi"}]},
        {"temperature": 0.9},
        {"max_tokens": 101},
        {"index": 1},
    ],
)
def test_every_request_field_is_in_the_key(change):
    base = {
        "kind": "openai",
        "model": "m",
        "messages": MSGS,
        "temperature": 1.0,
        "max_tokens": 100,
        "index": 0,
    }
    assert cache_key(**base) != cache_key(**{**base, **change})


def test_key_is_stable_for_equal_requests():
    a = cache_key("openai", "m", [{"content": "hi", "role": "user"}], 1, 100, 0)
    b = cache_key("openai", "m", [{"role": "user", "content": "hi"}], 1.0, 100, 0)
    assert a == b


def test_corrupt_entry_is_a_miss(tmp_path, caplog):
    cache = ResponseCache(tmp_path)
    path = cache.put(Ident(), MSGS, 1.0, 100, 0, Completion("x", "stop", Usage(1, 1)))
    path.write_text("{ torn")
    assert cache.get(Ident(), MSGS, 1.0, 100, 0) is None
    assert "unreadable cache entry" in caplog.text
    assert cache.get(Ident(), MSGS, 1.0, 100, 5) is None  # absent: a silent miss


def test_ledger_prices_and_summary(tmp_path):
    ledger = Ledger(tmp_path / "l.jsonl", prices={"gpt": Price(2.0, 8.0), "*": (0, 0)})
    ledger.record(
        "openai", "gpt", Usage(1_000_000, 500_000), n_requested=2, n_returned=2, latency_s=1.5, cached=False
    )
    ledger.record(
        "openai",
        "local",
        Usage(10, 10, estimated=True),
        n_requested=1,
        n_returned=1,
        latency_s=0.5,
        cached=False,
    )
    ledger.record("openai", "gpt", Usage(5, 5), n_requested=1, n_returned=1, latency_s=0.0, cached=True)

    s = ledger.summary()
    assert s.calls == 3 and s.cached_calls == 1 and s.completions == 4
    assert s.prompt_tokens == 1_000_010 and s.completion_tokens == 500_010
    assert s.cost_usd == pytest.approx(2.0 + 4.0)
    assert s.estimated_calls == 1 and s.unpriced_calls == 0
    assert s.latency_s == pytest.approx(2.0)
    assert "$6.0000" in s.describe()


def test_ledger_without_prices_marks_cost_unknown(tmp_path):
    ledger = Ledger()
    entry = ledger.record(
        "openai", "m", Usage(1, 1), n_requested=1, n_returned=1, latency_s=0.1, cached=False
    )
    assert entry.cost_usd is None
    assert ledger.summary().unpriced_calls == 1
    assert "1 calls with no price" in ledger.summary().describe()


def test_ledger_file_is_append_only_jsonl_and_survives_a_torn_line(tmp_path):
    path = tmp_path / "l.jsonl"
    ledger = Ledger(path)
    for _ in range(2):
        ledger.record("openai", "m", Usage(1, 2), n_requested=1, n_returned=1, latency_s=0.1, cached=False)
    with path.open("a") as handle:
        handle.write('{"time": 1, "backend": "op')  # a crash mid-write
    entries = read_ledger(path)
    assert len(entries) == 2
    assert entries[0].prompt_tokens == 1 and entries[0].completion_tokens == 2
    assert all(
        set(json.loads(line)) >= {"model", "latency_s", "cached", "estimated", "cost_usd"}
        for line in path.read_text().splitlines()[:2]
    )
