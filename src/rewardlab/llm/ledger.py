"""What every LLM call cost: an append-only JSONL file plus totals for the run report.

Servers report usage differently or not at all (llama-cpp-python streams none), so each entry says whether
its token counts were estimated. Prices are the user's to give (USD per million tokens): they change often,
and local models cost nothing. Cache hits are recorded too, flagged ``cached`` and costing nothing, so a
report can show what a resume saved.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rewardlab.llm.types import Usage


@dataclass(frozen=True)
class Price:
    """USD per million tokens, for prompt (input) and completion (output) tokens."""

    input_per_mtok: float
    output_per_mtok: float

    def cost(self, usage: Usage) -> float:
        return (
            usage.prompt_tokens * self.input_per_mtok + usage.completion_tokens * self.output_per_mtok
        ) / 1e6


def price_table(prices: Mapping[str, Any]) -> dict[str, Price]:
    """Build a price table from config: ``{"gpt-4o": {"input": 2.5, "output": 10}, "*": [0, 0]}``.

    ``"*"`` prices every model not listed (e.g. zero for a local server).
    """
    table: dict[str, Price] = {}
    for model, value in prices.items():
        if isinstance(value, Price):
            table[model] = value
        elif isinstance(value, Mapping):
            table[model] = Price(float(value["input"]), float(value["output"]))
        else:
            inp, out = value
            table[model] = Price(float(inp), float(out))
    return table


@dataclass(frozen=True)
class LedgerEntry:
    """One call (or one cache hit). ``cost_usd`` is None when the model has no price in the table."""

    time: float
    backend: str
    model: str
    n_requested: int
    n_returned: int
    prompt_tokens: int
    completion_tokens: int
    estimated: bool
    latency_s: float
    cached: bool
    cost_usd: float | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LedgerEntry:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class LedgerSummary:
    """Totals over paid calls; cache hits are only counted, since they cost nothing."""

    calls: int
    cached_calls: int
    completions: int
    prompt_tokens: int
    completion_tokens: int
    estimated_calls: int
    latency_s: float
    cost_usd: float
    unpriced_calls: int

    def describe(self) -> str:
        cost = f"${self.cost_usd:.4f}"
        if self.unpriced_calls:
            cost += f" (+{self.unpriced_calls} calls with no price)"
        est = f", {self.estimated_calls} estimated" if self.estimated_calls else ""
        return (
            f"{self.calls} calls ({self.cached_calls} cached), {self.completions} completions, "
            f"{self.prompt_tokens} prompt + {self.completion_tokens} completion tokens{est}, "
            f"{self.latency_s:.1f} s, {cost}"
        )


class Ledger:
    """Records calls in memory and, if ``path`` is given, appends each as one JSON line.

    An existing file is read first, so a resumed run's summary covers the whole run.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, prices: Mapping[str, Any] | None = None):
        self.path = Path(path) if path is not None else None
        self.prices = price_table(prices or {})
        self._lock = threading.Lock()
        self._entries: list[LedgerEntry] = []
        if self.path is not None and self.path.exists():
            self._entries.extend(read_ledger(self.path))

    @property
    def entries(self) -> list[LedgerEntry]:
        with self._lock:
            return list(self._entries)

    def price_for(self, model: str) -> Price | None:
        return self.prices.get(model, self.prices.get("*"))

    def record(
        self,
        backend: str,
        model: str,
        usage: Usage,
        *,
        n_requested: int,
        n_returned: int,
        latency_s: float,
        cached: bool,
    ) -> LedgerEntry:
        price = self.price_for(model)
        cost = 0.0 if cached else (price.cost(usage) if price is not None else None)
        entry = LedgerEntry(
            time=round(time.time(), 3),
            backend=backend,
            model=model,
            n_requested=n_requested,
            n_returned=n_returned,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            estimated=usage.estimated,
            latency_s=round(latency_s, 4),
            cached=cached,
            cost_usd=cost,
        )
        with self._lock:
            self._entries.append(entry)
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(asdict(entry), sort_keys=True) + "\n")
        return entry

    def summary(self) -> LedgerSummary:
        return summarize(self.entries)


def summarize(entries: Iterable[LedgerEntry]) -> LedgerSummary:
    items = list(entries)
    paid = [e for e in items if not e.cached]
    return LedgerSummary(
        calls=len(items),
        cached_calls=len(items) - len(paid),
        completions=sum(e.n_returned for e in items),
        prompt_tokens=sum(e.prompt_tokens for e in paid),
        completion_tokens=sum(e.completion_tokens for e in paid),
        estimated_calls=sum(1 for e in paid if e.estimated),
        latency_s=round(sum(e.latency_s for e in paid), 4),
        cost_usd=sum(e.cost_usd for e in paid if e.cost_usd is not None),
        unpriced_calls=sum(1 for e in paid if e.cost_usd is None),
    )


def read_ledger(path: str | os.PathLike[str]) -> list[LedgerEntry]:
    """Entries of a ledger file; a torn last line (from a crash mid-write) is skipped."""
    entries = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            entries.append(LedgerEntry.from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            continue
    return entries
