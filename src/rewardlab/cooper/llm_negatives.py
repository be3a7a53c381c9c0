"""Negatives from an assistant LLM through the project's LLM layer (any backend spec it understands).

As in Cooper, the assistant sees the problem and the verified-correct solution and is asked for a
plausible solution of similar length that reaches a wrong answer; a reply is kept only when the rule
verifier reads a final answer that differs from the reference, with up to ``retries`` attempts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from rewardlab.cooper.perturb import NegativeRequest, accept_negative

SYSTEM_PROMPT = (
    "You help build training data for a verifier. Given an arithmetic problem and a correct worked "
    "solution, write a different solution in exactly the same format and of similar length that looks "
    "like a genuine attempt but contains a reasoning or calculation mistake, so that its final answer is "
    "wrong. Keep steps separated by ';' and end with '####' followed by the (wrong) integer answer. "
    "Output only the solution, nothing else."
)


ONE_SHOT = (
    NegativeRequest("(12+7)*3=", "12+7=19;19*3=57;####57", "57"),
    "12+7=18;18*3=54;####54",
)


def _user(request: NegativeRequest) -> dict[str, str]:
    return {
        "role": "user",
        "content": f"Problem: {request.question}\nCorrect solution: {request.positive}\nWrong solution:",
    }


def build_messages(
    request: NegativeRequest, shots: Sequence[tuple[NegativeRequest, str]] = ()
) -> list[dict[str, str]]:
    """System prompt, optional worked examples (user/assistant turns; small models need one), request."""
    msgs = [{"role": "system", "content": SYSTEM_PROMPT}]
    for req, reply in shots:
        msgs += [_user(req), {"role": "assistant", "content": reply}]
    return [*msgs, _user(request)]


def clean_reply(text: str) -> str:
    """Strip code fences and join multi-line replies into the single-line ``a;b;####c`` form."""
    lines = [ln.strip() for ln in text.strip().strip("`").splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("```")]
    return ";".join(lines).strip()


class LLMNegatives:
    """``NegativeGenerator`` backed by an LLM backend (``rewardlab.llm.Backend``)."""

    def __init__(
        self,
        backend: Any,
        *,
        temperature: float = 0.7,
        retries: int = 3,
        max_tokens: int | None = None,
        concurrency: int = 8,
        shots: Sequence[tuple[NegativeRequest, str]] = (),
    ) -> None:
        self.backend = backend
        self.temperature, self.retries = temperature, retries
        self.max_tokens, self.concurrency = max_tokens, concurrency
        self.shots = tuple(shots)
        self.stats = {"requests": 0, "attempts": 0, "accepted": 0, "errors": 0}
        self.transcript: list[dict[str, Any]] = []  # every reply: question, cleaned text, accepted

    @classmethod
    def from_spec(cls, spec: str, **kwargs: Any) -> LLMNegatives:
        from rewardlab.llm import backend_from_spec

        return cls(backend_from_spec(spec), **kwargs)

    async def _one(self, request: NegativeRequest, sem: asyncio.Semaphore) -> str | None:
        from rewardlab.llm import LLMError, asample

        max_tokens = self.max_tokens or len(request.positive.split()) + 500  # the official recipe's budget
        for attempt in range(self.retries):
            async with sem:
                self.stats["attempts"] += 1
                try:
                    replies = await asample(
                        self.backend,
                        build_messages(request, self.shots),
                        1,
                        temperature=self.temperature,
                        max_tokens=max_tokens,
                        first_index=attempt,
                        concurrency=1,
                    )
                except LLMError:
                    self.stats["errors"] += 1
                    continue
            cand = clean_reply(replies[0].text) if replies else None
            ok = accept_negative(cand, request.reference)
            self.transcript.append({"question": request.question, "reply": cand, "accepted": ok})
            if ok:
                self.stats["accepted"] += 1
                return cand
        return None

    def generate(self, requests: Sequence[NegativeRequest]) -> list[str | None]:
        from rewardlab.llm import run_sync

        self.stats["requests"] += len(requests)

        async def run() -> list[str | None]:
            sem = asyncio.Semaphore(self.concurrency)
            try:
                return list(await asyncio.gather(*(self._one(r, sem) for r in requests)))
            finally:
                await self.backend.aclose()

        return run_sync(run())
