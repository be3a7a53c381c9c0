"""An LLM as a proxy reward (Kwon et al., "Reward Design with Language Models", ICLR 2023).

The user states an objective in words, optionally with a few labelled episodes. After each episode the
task's describer (`Task.describe_episode`) turns the episode's last transition into text; the objective,
the examples and that text go to an LLM, which answers Yes or No; the reward is 1 or 0 at the episode's
last step and 0 on every other step, as in the paper. `JudgeReward` is a host reward source
(`rewardlab.rewards.host`), so the PPO engine calls it once per rollout with the whole batch.

Why it is built this way:
* Many episodes share a description (the Ultimatum game has 22 possible ones), so labels are kept per
  description: in memory for the training, and on disk in the LLM layer's `ResponseCache` (one file per
  answer, keyed by backend kind, model and the whole prompt, written as it arrives), so a killed
  training rerun with the same cache folder asks nothing twice.
* A rollout's distinct new descriptions are asked concurrently, at most `concurrency` at a time, each
  through the LLM layer's sampler (its retries, its ledger of calls and cost).
* A judge must never crash a training: an answer that is neither Yes nor No (malformed, empty,
  "unknown"), a request that fails or takes longer than `answer_timeout_s`, all give the configured
  `default` reward and are counted in `stats()`. A failed request is not written to the disk cache, so
  a rerun asks again; within one training its description keeps the default rather than paying for a
  dead server on every rollout.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jax
import numpy as np

from rewardlab.llm.base import Backend, run_sync
from rewardlab.llm.cache import ResponseCache
from rewardlab.llm.ledger import Ledger, summarize
from rewardlab.llm.types import Message, normalize_messages
from rewardlab.rewards.asking import ask_once, failure_text
from rewardlab.rewards.host import Segment

Describer = Callable[[Any, Any, Any], str]
"""(state, action, next_state) of an episode's last transition, numpy leaves, one environment -> text."""

EXAMPLES_SEPARATOR = "---"
MAX_REMEMBERED_TRANSITIONS = 200_000
"""Transitions whose description is remembered (continuous states never repeat, so the memo is bounded)."""


class JudgeConfigError(ValueError):
    """The objective file or a judge setting is wrong (the CLI's exit status 2)."""


@dataclass(frozen=True)
class Objective:
    """What the judge checks: the objective in words and episodes the user labelled (text, meets it)."""

    text: str
    examples: tuple[tuple[str, bool], ...] = ()


def read_objective(path: str | Path) -> Objective:
    """An objective file: the objective's text, then optionally a `---` line and labelled examples.

    Each example is one line, `yes: DESCRIPTION` or `no: DESCRIPTION`, written the way the task's
    describer writes episodes:

        accept only offers that give me at least 30 % of the coins
        ---
        yes: The proposer offered me 5 of the 10 coins and I accepted, so I received 5 coins.
        no: The proposer offered me 1 of the 10 coins and I accepted, so I received 1 coin.
    """
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise JudgeConfigError(f"objective file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise JudgeConfigError(f"cannot read the objective file {path}: {exc}") from None
    lines = raw.splitlines()
    cut = next((i for i, line in enumerate(lines) if line.strip() == EXAMPLES_SEPARATOR), len(lines))
    text = "\n".join(lines[:cut]).strip()
    if not text:
        raise JudgeConfigError(f"objective file {path} states no objective (it is empty before any ---)")
    examples = []
    for n, line in enumerate(lines[cut + 1 :], start=cut + 2):
        if not line.strip():
            continue
        label, sep, desc = line.partition(":")
        if not sep or label.strip().lower() not in ("yes", "no") or not desc.strip():
            raise JudgeConfigError(
                f"{path}:{n}: an example must read 'yes: DESCRIPTION' or 'no: DESCRIPTION', "
                f"got {line.strip()!r}"
            )
        examples.append((desc.strip(), label.strip().lower() == "yes"))
    return Objective(text, tuple(examples))


_WORD = re.compile(r"[a-z]+")


def parse_answer(text: str | None) -> bool | None:
    """True for Yes, False for No, None when the answer says neither (or both, or "unknown").

    Tolerates what models add around a one-word answer: case, punctuation, markdown, a leading
    "Answer:", a short explanation after the verdict. When the reply does not start with a verdict,
    a reply naming exactly one of yes / no counts as that one.
    """
    words = _WORD.findall((text or "").lower())
    if not words:
        return None
    while words and words[0] in ("answer", "final", "the", "is", "verdict"):
        words = words[1:]
    if words and words[0] in ("yes", "no"):
        return words[0] == "yes"
    found = {w for w in words if w in ("yes", "no")}
    if len(found) == 1:
        return "yes" in found
    return None


def _prompt(name: str) -> str:
    path = resources.files("rewardlab.llm").joinpath("prompts", f"judge_{name}.txt")
    return path.read_text("utf-8").rstrip("\n")


def judge_messages(objective: Objective, description: str) -> list[Message]:
    """The chat messages that ask whether one described episode meets the objective."""
    examples = ""
    if objective.examples:
        listed = "\n".join(f"- {desc} -> {'Yes' if ok else 'No'}" for desc, ok in objective.examples)
        examples = _prompt("examples").format(examples=listed) + "\n"
    user = _prompt("user").format(objective=objective.text, examples=examples, description=description)
    system = _prompt("system")
    return normalize_messages([{"role": "system", "content": system}, {"role": "user", "content": user}])


@dataclass(frozen=True)
class JudgeSettings:
    """How the judge asks and what it does with answers it cannot use."""

    default: float = 0.0
    """Reward for an episode whose answer is neither Yes nor No, or whose request failed or timed out."""
    concurrency: int = 4
    """Descriptions asked at once."""
    answer_timeout_s: float = 120.0
    """Longest wait for one answer, retries included; then the episode gets `default`."""
    max_tokens: int = 64
    temperature: float = 0.0
    component: str = "judge"
    """The reward component's name in reports."""

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise JudgeConfigError(f"the judge's concurrency must be at least 1 (got {self.concurrency})")
        if not self.answer_timeout_s > 0:
            raise JudgeConfigError("the judge's answer timeout must be positive")
        if not np.isfinite(self.default):
            raise JudgeConfigError("the judge's default reward must be a finite number")


class JudgeReward:
    """A host reward source: 1 at the last step of an episode the LLM says meets the objective, else 0.

    `cache_dir` holds the answers (`ResponseCache`) and `ledger.jsonl` (every call, cached ones flagged);
    None keeps answers in memory only. `labels` maps every description judged so far to its reward.
    """

    def __init__(
        self,
        objective: Objective,
        describe: Describer,
        backend: Backend,
        *,
        cache_dir: str | Path | None = None,
        settings: JudgeSettings | None = None,
        ledger: Ledger | None = None,
        name: str = "judge",
    ) -> None:
        self.objective = objective
        self.describe = describe
        self.backend = backend
        self.settings = settings or JudgeSettings()
        self.components = (self.settings.component,)
        self.name = name
        self.cache = ResponseCache(cache_dir) if cache_dir is not None else None
        if ledger is None and cache_dir is not None:
            ledger = Ledger(Path(cache_dir) / "ledger.jsonl")
        self.ledger = ledger if ledger is not None else Ledger()
        self._ledger_start = len(self.ledger.entries)  # a reused ledger file holds earlier runs' calls
        self.labels: dict[str, float] = {}
        self.answers: dict[str, bool | None] = {}
        self._counts = dict.fromkeys(
            ("episodes", "requests", "cache_hits", "yes", "no", "unknown", "failed"), 0
        )
        self.errors: list[str] = []
        self._texts: dict[bytes, str] = {}

    # --- the host reward contract ---------------------------------------------------------------------

    def __call__(self, segment: Segment) -> Mapping[str, np.ndarray]:
        out = np.zeros(segment.lead, np.float32)
        ends = np.argwhere(np.asarray(segment.done))
        texts = self._describe_ends(segment, ends)
        self._counts["episodes"] += len(texts)
        self.label(texts)
        for idx, text in zip(ends, texts, strict=True):
            out[tuple(idx)] = self.labels[text]
        return {self.settings.component: out}

    def stats(self) -> dict[str, float]:
        """Episodes judged, distinct descriptions, LLM requests, cache hits, answers and defaults, cost.

        Tokens and cost count this judge's own requests (the ledger file keeps every run's).
        """
        summary = summarize(self.ledger.entries[self._ledger_start :])
        c = self._counts
        return {
            **c,
            "descriptions": len(self.labels),
            "defaults": c["unknown"] + c["failed"],
            "llm_calls_saved": c["episodes"] - c["requests"],
            "prompt_tokens": summary.prompt_tokens,
            "completion_tokens": summary.completion_tokens,
            "cost_usd": summary.cost_usd,
        }

    def close(self) -> None:
        """Nothing stays open between calls: each batch closes the backend's connections on its own loop."""

    # --- labelling ------------------------------------------------------------------------------------

    def label(self, texts: Sequence[str]) -> None:
        """Make sure every description has a label, asking the LLM (concurrently) for the new ones."""
        new = [t for t in dict.fromkeys(texts) if t not in self.labels]
        if new:
            run_sync(self._ask_all(new))

    def _describe_ends(self, segment: Segment, ends: np.ndarray) -> list[str]:
        """The describer's text for every episode end, calling it once per distinct transition.

        The describer is a function of the transition, so a transition seen before (same bytes in every
        leaf) reuses its text: on small discrete tasks most episodes repeat one, and describing is the
        judge's main cost once the answers are cached.
        """
        s_leaves, s_def = jax.tree_util.tree_flatten(segment.states)
        n_leaves, n_def = jax.tree_util.tree_flatten(segment.next_states)
        s_leaves = [np.asarray(x) for x in s_leaves]
        n_leaves = [np.asarray(x) for x in n_leaves]
        actions = np.asarray(segment.actions)
        if len(self._texts) > MAX_REMEMBERED_TRANSITIONS:
            self._texts.clear()
        texts = []
        for row in ends:
            idx = tuple(int(i) for i in row)
            parts = [x[idx] for x in s_leaves], actions[idx], [x[idx] for x in n_leaves]
            key = b"|".join(np.ascontiguousarray(x).tobytes() for x in (*parts[0], parts[1], *parts[2]))
            text = self._texts.get(key)
            if text is None:
                state, next_state = s_def.unflatten(parts[0]), n_def.unflatten(parts[2])
                text = self._texts[key] = str(self.describe(state, parts[1], next_state))
            texts.append(text)
        return texts

    async def _ask_all(self, texts: list[str]) -> None:
        semaphore = asyncio.Semaphore(self.settings.concurrency)

        async def one(text: str) -> None:
            async with semaphore:
                self._record(text, await self._ask(text))

        try:
            await asyncio.gather(*(one(t) for t in texts))
        finally:
            close = getattr(self.backend, "aclose", None)
            if close is not None:
                await close()

    async def _ask(self, text: str) -> str | BaseException:
        """The reply's text, or the exception that stopped it (never raised: it becomes the default)."""
        s = self.settings
        msgs = judge_messages(self.objective, text)
        return await ask_once(
            self.backend, msgs, temperature=s.temperature, max_tokens=s.max_tokens,
            timeout_s=s.answer_timeout_s, cache=self.cache, ledger=self.ledger, counts=self._counts,
        )

    def _record(self, text: str, reply: str | BaseException) -> None:
        if isinstance(reply, BaseException):
            self._counts["failed"] += 1
            if len(self.errors) < 20:
                self.errors.append(failure_text(reply))
            self.answers[text] = None
            self.labels[text] = float(self.settings.default)
            return
        verdict = parse_answer(reply)
        self.answers[text] = verdict
        if verdict is None:
            self._counts["unknown"] += 1
            self.labels[text] = float(self.settings.default)
        else:
            self._counts["yes" if verdict else "no"] += 1
            self.labels[text] = 1.0 if verdict else 0.0
