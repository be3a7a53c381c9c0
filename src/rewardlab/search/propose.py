"""Proposing candidates: K samples from an LLM, or K mutations from the LLM-free proposer.

Each candidate is written to its folder as soon as it exists (its prompt, the reply, the code, then
its record: `rewardlab.runfolder`). A proposal step whose candidates are all on disk is skipped; a partial
one is redone identically: the LLM asks for the same messages and sample numbers (replies come from
the cache) and the mutation proposer is deterministic given its seed, parents and history.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from rewardlab import runfolder
from rewardlab.llm import Message, extract_code, sample
from rewardlab.runfolder import Candidate
from rewardlab.search import mutate
from rewardlab.store import RunStore


def load_candidates(
    store: RunStore, restart: int, iteration: int, n: int, offset: int = 0
) -> list[Candidate | None]:
    """The `n` candidates of an iteration from index `offset` on, as stored (None where one was never
    completely written)."""
    return [runfolder.read_candidate(store.layout, restart, iteration, offset + j) for j in range(n)]


START_NOTE = "the starting reward, unchanged"


def propose_start(store: RunStore, restart: int, iteration: int, init: tuple[str, str]) -> Candidate:
    """The starting reward (origin, source) as candidate 0, unchanged: trained like any candidate, so the
    LLM sees what it has to beat and confirmation can keep it."""
    old = runfolder.read_candidate(store.layout, restart, iteration, 0)
    if old is not None:
        return old
    origin, source = init
    cand = Candidate(restart, iteration, 0, source, origin, note=START_NOTE)
    save_candidate(store, cand, {"proposer": "start", "note": START_NOTE})
    return cand


def save_candidate(store: RunStore, cand: Candidate, prompt: Any | None) -> None:
    """Write the candidate (its files complete before `candidate.json`) and journal it."""
    runfolder.write_candidate(store.layout, cand, prompt)
    store.event("proposed", id=cand.id, origin=cand.origin, has_code=cand.source is not None)


def propose_llm(
    store: RunStore,
    restart: int,
    iteration: int,
    n: int,
    messages: Sequence[Message],
    backend_factory: Callable[[], Any],
    *,
    temperature: float,
    max_tokens: int,
    ledger: Any,
    cache: Any,
    first_index: int = 0,
    offset: int = 0,
) -> list[Candidate]:
    """`n` LLM samples of `messages`, stored as candidates `offset` to `offset + n - 1`.

    Samples are numbered from `first_index` (the caller makes it unique per restart and iteration), so a
    restart, or an iteration that repeats the first prompt because nothing trained yet, draws fresh
    samples instead of the cached ones.
    """
    have = load_candidates(store, restart, iteration, n, offset)
    if all(c is not None for c in have):
        return [c for c in have if c is not None]
    store.event("sampling", restart=restart, iteration=iteration, n=n)
    replies = sample(
        backend_factory(),
        list(messages),
        n=n,
        temperature=temperature,
        max_tokens=max_tokens,
        cache=cache,
        ledger=ledger,
        first_index=first_index,
    )
    prompt = {"messages": list(messages), "temperature": temperature, "max_tokens": max_tokens}
    out: list[Candidate] = []
    for j, (reply, old) in enumerate(zip(replies, have, strict=True)):
        if old is not None:
            out.append(old)
            continue
        extracted = extract_code(reply.text)
        reason = extracted.reason
        if extracted.code is not None and reply.truncated:
            reason = None  # the code was complete enough to extract; the check decides
        cand = Candidate(
            restart,
            iteration,
            offset + j,
            extracted.code,
            "llm",
            response_text=reply.text,
            extract_reason=reason if extracted.code is None else None,
            note=extracted.how or "",
        )
        save_candidate(store, cand, {**prompt, "sample_index": first_index + j})
        out.append(cand)
    return out


def propose_mutations(
    store: RunStore,
    restart: int,
    iteration: int,
    n: int,
    parents: Sequence[mutate.Parent],
    history: Sequence[str],
    *,
    seed: int,
    scale: float,
    init: tuple[str, str] | None = None,
    features: Sequence[Any] = (),
    scale_free: bool = False,
) -> list[Candidate]:
    """`n` children of `parents` (best first). In iteration 0, `init` (origin, source) is candidate 0
    unchanged and the rest are its mutations. `features`: the task's shaping library (`search/shaping`).
    `scale_free`: no child that only rescales the whole reward (see `mutate.mutate_batch`)."""
    have = load_candidates(store, restart, iteration, n)
    if all(c is not None for c in have):
        return [c for c in have if c is not None]
    rng = random.Random(f"rewardlab-mutate-{seed}-{restart}-{iteration}")
    seen = {mutate.normalize(s) for s in history}
    made: list[Candidate] = []
    if init is not None:
        origin, source = init
        seen.add(mutate.normalize(source))
        made.append(Candidate(restart, iteration, 0, source, origin, note=START_NOTE))
        parents = [mutate.Parent("init", source, float("nan"))]
    children = mutate.mutate_batch(
        parents, n - len(made), rng, seen, scale=scale, features=features, scale_free=scale_free
    )
    for child in children:
        made.append(
            Candidate(
                restart,
                iteration,
                len(made),
                child.source,
                "mutation",
                parent="+".join(child.parents),
                note=f"{child.operator}: {child.note}",
            )
        )
    out: list[Candidate] = []
    for cand, old in zip(made, have, strict=False):
        if old is None:
            save_candidate(store, cand, {"proposer": "mutation", "parents": cand.parent, "note": cand.note})
        out.append(old or cand)
    return out
