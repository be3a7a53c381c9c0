"""ELLM goal rewards (Du et al., "Guiding Pretraining in Reinforcement Learning with LLMs", ICML 2023).

At each step the task's captioner writes what the agent sees and has ("You see a tree. You have
nothing."); an LLM suggests goals for that state ("collect wood", "place a table"). When the step did
something ("You collected wood."), the reward is the largest cosine similarity between the embedding of
that transition caption and the embeddings of the suggested goals, if it reaches `threshold`, else 0;
steps where nothing happened get 0. A goal the agent already achieved in its episode is no longer a
candidate, so each suggested goal pays at most once per episode, as in the paper. `ELLMReward` is a
host reward source (`rewardlab.rewards.host`): the engine calls it once per rollout with the whole batch.

Why it is built this way:
* Only the states of steps that did something need goals (every other step's reward is 0 whatever the
  goals are), and many of those states share a caption, so goals are asked once per distinct caption:
  kept in memory for the training and on disk in the LLM layer's `ResponseCache` (keyed by backend,
  model and prompt, written as each answer arrives), so a killed training rerun with the same folder
  asks nothing twice. A rollout's new captions are asked concurrently, at most `concurrency` at a time,
  through the LLM layer's sampler (its retries, its ledger of calls and cost).
* Embeddings are cached per string, so a goal or transition caption is encoded once per training.
* Episode state (which goals each environment achieved) lives across calls: the segment's time axis is
  its second-to-last one (`[runs,] steps, envs`, as the engine hands it over), consecutive calls are
  consecutive time, and `segment.done` ends an environment's episode.
* ELLM must never crash a training: an answer with no goals in it, a failed or too slow request, all
  give "no goals" for that caption (reward 0 there) and are counted in `stats()`.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
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
from rewardlab.rewards.embedder import Embedder, unit_rows
from rewardlab.rewards.host import Segment

Captioner = Callable[..., str]
"""`caption(state)` -> what the agent sees and has; `caption(state, action, next_state)` -> what it just
did, '' when nothing happened (numpy leaves of one environment; see `Task.caption`)."""

MAX_REMEMBERED = 200_000
"""Captions and embeddings kept in memory (the disk cache keeps every answer)."""


class ELLMConfigError(ValueError):
    """An ELLM setting is wrong (the CLI's exit status 2)."""


@dataclass(frozen=True)
class ELLMSettings:
    """How goals are asked for and turned into rewards."""

    threshold: float = 0.6
    """Smallest cosine similarity between what the agent did and a goal that earns a reward."""
    max_goals: int = 6
    """Goals kept from one answer (the first ones; the prompt asks for at most this many)."""
    concurrency: int = 4
    """Captions asked at once."""
    answer_timeout_s: float = 120.0
    """Longest wait for one answer, retries included; then that caption has no goals."""
    max_tokens: int = 128
    temperature: float = 0.0
    component: str = "ellm"
    """The reward component's name in reports."""

    def __post_init__(self) -> None:
        if not -1.0 <= self.threshold <= 1.0:
            raise ELLMConfigError(
                f"the ELLM threshold is a cosine similarity in [-1, 1] (got {self.threshold:g})"
            )
        if self.max_goals < 1:
            raise ELLMConfigError(f"ELLM's max_goals must be at least 1 (got {self.max_goals})")
        if self.concurrency < 1:
            raise ELLMConfigError(f"ELLM's concurrency must be at least 1 (got {self.concurrency})")
        if not self.answer_timeout_s > 0:
            raise ELLMConfigError("ELLM's answer timeout must be positive")


_BULLET = re.compile(r"^\s*(?:[-*•>]+|\d+[.):]|\(\d+\)|goal\s*\d*\s*[:.-])\s*", re.IGNORECASE)
_WORDS = re.compile(r"[a-z][a-z' -]*[a-z]|[a-z]")


def parse_goals(text: str | None, max_goals: int = 6) -> list[str]:
    """The goals in an LLM's answer: lower-case phrases, in order, without duplicates.

    Accepts one goal per line (with bullets, numbers, quotes, markdown, a trailing full stop), a JSON
    list of strings, or one line of goals separated by commas or semicolons; drops headings (lines
    ending in ':') and lines too long to be a goal (over 12 words). An empty or unusable answer gives [].
    """
    raw = (text or "").strip()
    if not raw:
        return []
    items: list[str] = []
    if raw.startswith("["):
        try:
            data = json.loads(raw)
            items = [str(x) for x in data if isinstance(x, str)] if isinstance(data, list) else []
        except ValueError:
            items = []
    if not items:
        lines = [ln for ln in raw.splitlines() if ln.strip()]
        if len(lines) == 1 and re.search(r"[;,]", lines[0]):
            lines = re.split(r"[;,]", lines[0])
        items = lines
    goals: list[str] = []
    for item in items:
        line = item.strip()
        if not line or line.endswith(":"):
            continue
        line = _BULLET.sub("", line).strip().strip("*_`\"'").strip()
        line = line.rstrip(".!").strip().lower()
        words = _WORDS.findall(line)
        phrase = " ".join(" ".join(words).split())
        if not phrase or len(phrase.split()) > 12 or phrase in goals:
            continue
        goals.append(phrase)
        if len(goals) >= max_goals:
            break
    return goals


def _prompt(name: str) -> str:
    path = resources.files("rewardlab.llm").joinpath("prompts", f"ellm_{name}.txt")
    return path.read_text("utf-8").rstrip("\n")


def ellm_messages(setting: str, caption: str, max_goals: int) -> list[Message]:
    """The chat messages that ask for goals in the state the caption describes."""
    user = _prompt("user").format(setting=setting or "(not described)", caption=caption, max_goals=max_goals)
    system = _prompt("system")
    return normalize_messages([{"role": "system", "content": system}, {"role": "user", "content": user}])


def best_goal(
    transition: np.ndarray, goals: Sequence[str], vectors: np.ndarray, achieved: set[str], threshold: float
) -> tuple[float, str | None]:
    """(reward, goal) for one transition embedding against the goals' embeddings (rows, unit length).

    Goals in `achieved` are not candidates; the reward is the best similarity if it reaches `threshold`,
    else (0.0, None).
    """
    keep = [i for i, g in enumerate(goals) if g not in achieved]
    if not keep:
        return 0.0, None
    sims = vectors[keep] @ transition
    j = int(np.argmax(sims))
    sim = float(sims[j])
    if sim < threshold:
        return 0.0, None
    return sim, goals[keep[j]]


class ELLMReward:
    """A host reward source: similarity of what the agent did to the goals an LLM suggested (ELLM).

    `caption` is the task's captioner, `setting` a description of the game for the prompt (the task's
    description), `embedder` any `Embedder` (`rewardlab.rewards.embedder.SentenceEmbedder` by default in
    the CLI). `cache_dir` holds the LLM's answers and `ledger.jsonl`; None keeps answers in memory only.
    `goals` maps every state caption asked so far to its goals.
    """

    def __init__(
        self,
        caption: Captioner,
        backend: Backend,
        embedder: Embedder,
        *,
        setting: str = "",
        cache_dir: str | Path | None = None,
        settings: ELLMSettings | None = None,
        ledger: Ledger | None = None,
        name: str = "ellm",
    ) -> None:
        self.caption = caption
        self.backend = backend
        self.embedder = embedder
        self.setting = setting
        self.settings = settings or ELLMSettings()
        self.components = (self.settings.component,)
        self.name = name
        self.cache = ResponseCache(cache_dir) if cache_dir is not None else None
        if ledger is None and cache_dir is not None:
            ledger = Ledger(Path(cache_dir) / "ledger.jsonl")
        self.ledger = ledger if ledger is not None else Ledger()
        self._ledger_start = len(self.ledger.entries)
        self.goals: dict[str, tuple[str, ...]] = {}
        self._vectors: dict[str, np.ndarray] = {}
        self._achieved: np.ndarray | None = None  # object array of sets, one per environment
        self._counts = dict.fromkeys(
            (
                "steps", "events", "rewarded", "suggestions_needed", "requests", "cache_hits", "unclear",
                "failed", "goals_filtered", "strings_embedded", "episodes_reset",
            ),
            0,
        )
        self._seconds = {"caption_seconds": 0.0, "llm_seconds": 0.0, "embed_seconds": 0.0}
        self.errors: list[str] = []

    # --- the host reward contract ---------------------------------------------------------------------

    def __call__(self, segment: Segment) -> Mapping[str, np.ndarray]:
        lead = segment.lead
        out = np.zeros(lead, np.float32)
        done = np.asarray(segment.done, bool)
        t0 = time.perf_counter()
        events = self._captions(segment)  # {(env index, t): (transition caption, state caption)}
        t1 = time.perf_counter()
        self._counts["steps"] += int(np.prod(lead))
        self._counts["events"] += len(events)
        self._counts["suggestions_needed"] += len(events)
        if len(self.goals) > MAX_REMEMBERED:
            self.goals.clear()  # the disk cache, when there is one, still answers them
        captions = list(dict.fromkeys(sc for _, sc in events.values()))  # asked in order of appearance
        new = [c for c in captions if c not in self.goals]
        if new:
            run_sync(self._ask_all(new))
        t2 = time.perf_counter()
        strings = {tc for tc, _ in events.values()}
        for sc in captions:
            strings.update(self.goals[sc])
        self._embed(strings)
        t3 = time.perf_counter()
        achieved = self._episode_state(lead)
        thr = self.settings.threshold
        time_axis = len(lead) - 2 if len(lead) >= 2 else 0
        n_steps = lead[time_axis]
        for env in np.ndindex(achieved.shape):
            done_env = done[(*env[:time_axis], slice(None), *env[time_axis:])]
            got: set[str] = achieved[env]
            for t in range(n_steps):
                hit = events.get((env, t))
                if hit is not None:
                    tc, sc = hit
                    goals = self.goals[sc]
                    if goals:
                        filtered = sum(g in got for g in goals)
                        self._counts["goals_filtered"] += filtered
                        vec = np.stack([self._vectors[g] for g in goals])
                        r, goal = best_goal(self._vectors[tc], goals, vec, got, thr)
                        if goal is not None:
                            got.add(goal)
                            out[(*env[:time_axis], t, *env[time_axis:])] = r
                            self._counts["rewarded"] += 1
                if done_env[t]:
                    if got:
                        got.clear()
                    self._counts["episodes_reset"] += 1
        t4 = time.perf_counter()
        self._seconds["caption_seconds"] += (t1 - t0) + (t4 - t3)
        self._seconds["llm_seconds"] += t2 - t1
        self._seconds["embed_seconds"] += t3 - t2
        return {self.settings.component: out}

    def stats(self) -> dict[str, float]:
        """Steps seen, steps that did something, rewarded steps, LLM requests and cache use, failures, cost.

        `suggestions_needed` counts the steps whose state needed goals; `llm_calls_saved` is how many of
        them the in-memory and disk caches answered. Tokens and cost count this source's own requests.
        """
        summary = summarize(self.ledger.entries[self._ledger_start :])
        c = self._counts
        return {
            **c,
            "captions": len(self.goals),
            "defaults": c["unclear"] + c["failed"],
            "llm_calls_saved": c["suggestions_needed"] - c["requests"],
            **{k: round(v, 3) for k, v in self._seconds.items()},
            "prompt_tokens": summary.prompt_tokens,
            "completion_tokens": summary.completion_tokens,
            "cost_usd": summary.cost_usd,
        }

    def close(self) -> None:
        """Nothing stays open between calls: each batch closes the backend's connections on its own loop."""

    # --- steps -> captions ----------------------------------------------------------------------------

    def _captions(self, segment: Segment) -> dict[tuple[tuple[int, ...], int], tuple[str, str]]:
        """For every step that did something: (what it did, the caption of the state it started from)."""
        lead = segment.lead
        s_leaves, s_def = jax.tree_util.tree_flatten(segment.states)
        n_leaves, n_def = jax.tree_util.tree_flatten(segment.next_states)
        s_leaves = [np.asarray(x) for x in s_leaves]
        n_leaves = [np.asarray(x) for x in n_leaves]
        actions = np.asarray(segment.actions)
        time_axis = len(lead) - 2 if len(lead) >= 2 else 0
        out: dict[tuple[tuple[int, ...], int], tuple[str, str]] = {}
        for idx in np.ndindex(lead):
            state = s_def.unflatten([x[idx] for x in s_leaves])
            next_state = n_def.unflatten([x[idx] for x in n_leaves])
            did = str(self.caption(state, actions[idx], next_state) or "").strip()
            if did:
                env = idx[:time_axis] + idx[time_axis + 1 :]
                out[(env, idx[time_axis])] = (did, str(self.caption(state)))
        return out

    def _episode_state(self, lead: tuple[int, ...]) -> np.ndarray:
        env_shape = lead[:-2] + lead[-1:] if len(lead) >= 2 else ()
        if self._achieved is None or self._achieved.shape != env_shape:
            self._achieved = np.empty(env_shape, object)
            for env in np.ndindex(env_shape):
                self._achieved[env] = set()
        return self._achieved

    def _embed(self, strings: set[str]) -> None:
        missing = sorted(s for s in strings if s not in self._vectors)
        if not missing:
            return
        if len(self._vectors) + len(missing) > MAX_REMEMBERED:
            self._vectors.clear()
            missing = sorted(strings)
        vectors = unit_rows(self.embedder.encode(missing))
        if vectors.shape[0] != len(missing):
            raise ValueError(f"the embedder returned {vectors.shape[0]} rows for {len(missing)} texts")
        self._counts["strings_embedded"] += len(missing)
        for text, vec in zip(missing, vectors, strict=True):
            self._vectors[text] = vec

    # --- asking for goals -----------------------------------------------------------------------------

    async def _ask_all(self, captions: list[str]) -> None:
        semaphore = asyncio.Semaphore(self.settings.concurrency)

        async def one(caption: str) -> None:
            async with semaphore:
                self._record(caption, await self._ask(caption))

        try:
            await asyncio.gather(*(one(c) for c in captions))
        finally:
            close = getattr(self.backend, "aclose", None)
            if close is not None:
                await close()

    async def _ask(self, caption: str) -> str | BaseException:
        """The reply's text, or the exception that stopped it (never raised: it becomes "no goals")."""
        s = self.settings
        msgs = ellm_messages(self.setting, caption, s.max_goals)
        return await ask_once(
            self.backend, msgs, temperature=s.temperature, max_tokens=s.max_tokens,
            timeout_s=s.answer_timeout_s, cache=self.cache, ledger=self.ledger, counts=self._counts,
        )

    def _record(self, caption: str, reply: str | BaseException) -> None:
        if isinstance(reply, BaseException):
            self._counts["failed"] += 1
            if len(self.errors) < 20:
                self.errors.append(failure_text(reply))
            self.goals[caption] = ()
            return
        goals = tuple(parse_goals(reply, self.settings.max_goals))
        if not goals:
            self._counts["unclear"] += 1
        self.goals[caption] = goals


def describe(stats: Mapping[str, Any]) -> str:
    """One line of what an ELLM source did, for the end of `rewardlab train`."""
    return (
        f"{stats['steps']:,} steps, {stats['events']:,} did something, {stats['rewarded']:,} rewarded; "
        f"{stats['captions']} distinct state captions, {stats['requests']} LLM requests, "
        f"{stats['cache_hits']} answers from the disk cache, {stats['llm_calls_saved']:,} calls saved; "
        f"{stats['defaults']} captions without goals ({stats['unclear']} unusable answers, {stats['failed']} "
        f"failed requests); {stats['strings_embedded']} strings embedded; ${stats['cost_usd']:.4f}"
    )
