"""Shaping terms the LLM-free proposer can add to a reward: simple functions of one state variable.

Mutating constants can only re-balance the terms a reward already has; a search that starts from a
sparse or thin reward (Acrobot's -1 per step) needs a way to *add* information. This module builds a
task-independent library of candidate terms from the environment's state alone, like the primitive set
of a genetic-programming system:

* for every float field `x` of the state (found by sampling random-policy transitions; integer fields
  such as a step counter are left out), four features: `cos(x)` (for angles: height, uprightness),
  `|x|/s`, `(x/s)**2` and `exp(-(x/s)**2)` (closeness to zero), where `s` is the field's spread under
  the random policy, so every feature is of order one whatever the field's units. (No `sin`: it
  rewards one direction of rotation, which a symmetric task never wants, and it would double the
  library for nothing.)
* two forms of each: a *level* term `w * f(next_state.x)` (be in states where f is high) and a
  *progress* term `w * (f(next_state.x) - f(state.x))` (move towards them: a potential difference,
  which leaves the optimal policy unchanged but can speed learning).

The weight `w` has a log-uniform size relative to the parent reward's typical per-step magnitude,
divided by the feature's own spread, so a new term starts between 3 % and 100 % of the reward it joins
(the proposer tries both signs, see `mutate.add_pair`); later `perturb` / `reweight` / `drop` tune or
remove it like any other term.

Nothing task-specific is written here: the same code serves any gymnax-style task whose state is a
dataclass of arrays. Building the library runs the environment (trusted code), never a candidate.
"""

from __future__ import annotations

import math
import random
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from rewardlab.tasks import Task

TRANSFORMS = ("cos", "abs", "square", "near_zero")
FORMS = ("level", "progress")


@dataclass(frozen=True)
class Feature:
    """One candidate term: a transform of one state field, in one form, with its spread under a random
    policy (`spread`: standard deviation of the term before weighting, for sizing its weight)."""

    field: str
    transform: str
    form: str
    scale: float  # the field's spread s used inside abs/square/near_zero (1.0 for cos)
    spread: float

    @property
    def name(self) -> str:
        return f"{'to' if self.form == 'progress' else 'at'}_{self.transform}_{self.field}"

    def expr(self, which: str) -> str:
        """The feature of `which` (state or next_state) as source text."""
        x = f"{which}.{self.field}"
        s = f"{self.scale:.4g}"
        return {
            "cos": f"jnp.cos({x})",
            "abs": f"jnp.abs({x}) / {s}",
            "square": f"({x} / {s}) ** 2",
            "near_zero": f"jnp.exp(-({x} / {s}) ** 2)",
        }[self.transform]

    def source(self, weight: float) -> str:
        if self.form == "level":
            return f"{weight!r} * {self.expr('next_state')}"
        return f"{weight!r} * ({self.expr('next_state')} - {self.expr('state')})"


def _transform(name: str, x: np.ndarray, s: float) -> np.ndarray:
    if name == "cos":
        return np.cos(x)
    if name == "abs":
        return np.abs(x) / s
    if name == "square":
        return (x / s) ** 2
    return np.exp(-((x / s) ** 2))


def _sig(x: float) -> float:
    return float(f"{x:.3g}")


def features_from_states(state: object, next_state: object) -> tuple[Feature, ...]:
    """The library for sampled (state, next_state) pairs: dataclasses whose fields are arrays with a
    leading sample axis. Fields that are not scalar floats, or that never vary, are skipped."""
    out: list[Feature] = []
    names = getattr(state, "__dataclass_fields__", None) or {}
    for field in sorted(names):
        a = np.asarray(getattr(state, field))
        b = np.asarray(getattr(next_state, field))
        if a.ndim != 1 or not np.issubdtype(a.dtype, np.floating):
            continue
        s = _sig(float(np.std(b)))
        if not math.isfinite(s) or s <= 1e-8:
            continue
        for t in TRANSFORMS:
            scale = 1.0 if t == "cos" else s
            level = _transform(t, b, scale)
            progress = level - _transform(t, a, scale)
            for form, values in (("level", level), ("progress", progress)):
                spread = _sig(float(np.std(values)))
                if math.isfinite(spread) and spread > 1e-6:
                    out.append(Feature(field, t, form, scale, spread))
    return tuple(out)


_CACHE: OrderedDict[int, tuple[Task, tuple[Feature, ...]]] = OrderedDict()
_CACHE_SIZE = 16
_CACHE_LOCK = threading.Lock()


def features_for(task: Task) -> tuple[Feature, ...]:
    """The term library of `task` (random-policy transitions, fixed seed: deterministic), built once per
    task object. (Tasks are not hashable and a user's task has no registered name, so the cache holds
    the task itself, keyed by identity, for its last few tasks.)"""
    from rewardlab.tasks.rollout import random_transitions

    with _CACHE_LOCK:
        hit = _CACHE.get(id(task))
        if hit is not None and hit[0] is task:
            _CACHE.move_to_end(id(task))
            return hit[1]
    tr = random_transitions(task, n_envs=16, n_steps=128, seed=0)
    feats = features_from_states(tr.state, tr.next_state)
    with _CACHE_LOCK:
        _CACHE[id(task)] = (task, feats)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return feats


def draw_term(
    features: tuple[Feature, ...], rng: random.Random, magnitude: float, taken: set[str]
) -> tuple[Feature, float] | None:
    """A feature not in `taken` and its weight; None if every feature is taken."""
    free = [f for f in features if f.name not in taken]
    if not free:
        return None
    feat = rng.choice(free)
    size = magnitude * 10 ** rng.uniform(-1.5, 0.0) / feat.spread
    return feat, _sig(size) * rng.choice((-1.0, 1.0))
