"""`--init` with an LLM: the starting reward is trained as candidate 0 of iteration 0, shown to the LLM with
its score as the reward to beat, and in the confirmation shortlist. Three iterations of the real loop
with a scripted LLM and training replaced by hand-set scores (nothing is trained)."""

from __future__ import annotations

import shutil

from rewardlab import tasks
from rewardlab.llm import ScriptedBackend
from rewardlab.runfolder import Candidate, EvalRecord, read_candidate
from rewardlab.search import confirm, evaluate, loop
from rewardlab.search.config import SearchConfig
from rewardlab.search.progress import Progress
from rewardlab.store import RunStore
from rewardlab.types import Checkpoint, TrainResult

CODE = """```python
import jax.numpy as jnp

def compute_reward(state, action, next_state):
    upright = 1.0 - jnp.abs(next_state.theta) * {w}
    return upright, {{"upright": upright}}
```"""

SCORES = {  # per seed; iteration 1's c0 beats the starting reward, iteration 2 improves nothing
    "r0-i0-c0": [200.0, 400.0],
    "r0-i0-c1": [250.0, 250.0],
    "r0-i0-c2": [100.0, 100.0],
    "r0-i1-c0": [350.0, 350.0],
    "r0-i1-c1": [50.0, 50.0],
    "r0-i2-c0": [10.0, 10.0],
    "r0-i2-c1": [10.0, 10.0],
}


def _fake_evaluate(store, ref, candidates, **kw) -> list[EvalRecord]:
    """Training stand-in: every candidate 'trains' to its hand-set scores, one result per seed."""
    out = []
    for cand in candidates:
        results = tuple(
            TrainResult(cand.id, seed, "ok", (Checkpoint(100, f, {}, f, f, 10.0, {}),), 100, 1.0, 1.0)
            for seed, f in enumerate(SCORES[cand.id])
        )
        out.append(EvalRecord(cand, "ok", results=results))
    return out


class _Scripted(loop._LLM):
    def __init__(self, store: RunStore, config: SearchConfig, backend: ScriptedBackend) -> None:
        super().__init__(store, config)
        self._backend = backend

    def backend(self) -> ScriptedBackend:
        return self._backend


def _run(tmp_path, monkeypatch, **kw) -> tuple[RunStore, ScriptedBackend, loop._Restart]:
    monkeypatch.setattr(evaluate, "evaluate", _fake_evaluate)
    config = SearchConfig(
        task="CartPole-v1", llm="scripted:x", init="human", samples=2, iterations=3, seeds=2, **kw
    )
    task = tasks.get("CartPole-v1")
    store = RunStore.create(tmp_path, "CartPole-v1", config.to_dict())
    backend = ScriptedBackend([CODE.format(w=k) for k in range(6)])
    llm = _Scripted(store, config, backend)
    state = loop._Restart()
    quiet = Progress(3, enabled=False)
    for i in range(3):
        loop.run_iteration(store, config, task, None, 0, i, state, llm, quiet)  # type: ignore[arg-type]
    return store, backend, state


def test_the_starting_reward_is_trained_shown_with_its_score_and_confirmed(tmp_path, monkeypatch):
    store, backend, state = _run(tmp_path, monkeypatch)
    human = tasks.get("CartPole-v1").human.source
    first: list[Candidate] = [read_candidate(store.layout, 0, 0, j) for j in range(3)]  # type: ignore[misc]
    assert [c.origin for c in first] == ["human", "llm", "llm"]
    assert first[0].source == human  # trained unchanged as candidate 0 of iteration 0
    assert [c.indices for c in backend.calls] == [(0, 1), (2, 3), (4, 5)]  # sample numbers (cache keys) kept

    ask = [call.messages[-1]["content"] for call in backend.calls]
    assert "trained too, unchanged, next to yours" in ask[0] and "This is iteration 0" in ask[0]
    # the first reflection: its statistics in the table, and it is the reward to beat (the best so far)
    assert "| r0-i0-c0 | the starting reward, unchanged | 300 ± 141 (2 seeds) | ok |  |" in ask[1]
    assert "still the starting reward you were given (score 300 ± 141 (2 seeds))" in " ".join(ask[1].split())
    assert backend.calls[1].messages[2]["content"].count("def compute_reward") == 1  # best code = the start
    # beaten in iteration 1: still shown, with its score and code, and how far the best is above it
    later = " ".join(ask[2].split())
    assert "began with scored 300 ± 141 (2 seeds) (the best so far is 50 above" in later
    assert human.strip().splitlines()[-1].strip() in ask[2]
    # the best is the changed reward; confirmation shortlists the best 1 plus the starting reward
    assert state.best is not None and state.best.candidate.id == "r0-i1-c0"
    assert [r.candidate.id for r in confirm.shortlist(state.history, 1)] == ["r0-i1-c0", "r0-i0-c0"]


def test_a_run_folder_from_before_asks_and_stores_as_it_did(tmp_path, monkeypatch):
    legacy = SearchConfig.from_dict({"task": "CartPole-v1"})
    assert (legacy.reflection, legacy.train_init) == ("best", False)
    store, backend, state = _run(tmp_path, monkeypatch, reflection="best", train_init=False)
    assert read_candidate(store.layout, 0, 0, 0).origin == "llm"  # type: ignore[union-attr]
    assert read_candidate(store.layout, 0, 0, 2) is None  # no starting-reward candidate
    ask = backend.calls[1].messages[-1]["content"]
    assert "This is iteration" not in ask and "| candidate |" not in ask
    assert all(r.candidate.origin == "llm" for r in state.history)


def test_init_help_promises_what_the_loop_does():
    help_text = SearchConfig.__dataclass_fields__["init"].metadata["help"]
    assert "candidate 0" in help_text and "confirmation always includes it" in help_text


def test_a_resumed_run_asks_the_same_requests_and_gets_the_cached_replies(tmp_path, monkeypatch):
    # the brief is rebuilt from the folder on resume: a killed iteration must ask exactly what it asked
    # (same cache key), or the LLM would be paid twice and a manual user asked again
    store, _, _ = _run(tmp_path, monkeypatch)
    for j in range(2):
        shutil.rmtree(store.candidate_dir(0, 2, j))  # killed before iteration 2's candidates were saved
    config = SearchConfig.from_dict(store.read_config())
    empty = ScriptedBackend([])  # any request that misses the cache raises: it ran out of replies
    llm = _Scripted(store, config, empty)
    state, task, quiet = loop._Restart(), tasks.get("CartPole-v1"), Progress(3, enabled=False)
    for i in range(3):
        loop.run_iteration(store, config, task, None, 0, i, state, llm, quiet)  # type: ignore[arg-type]
    assert empty.calls == []
    assert read_candidate(store.layout, 0, 2, 1) is not None
