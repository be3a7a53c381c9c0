"""Successive halving inside one batch: train every candidate a little, keep the better half, go on.

Why: a search's batch trains K candidates to the full budget although most of them are clearly worse
after a fraction of it. With `Halving(after=(2, 5))` and 10 checkpoints, all candidates train to
checkpoint 2, the better half (ranked by the mean over their seeds of the best fitness so far) go on to
checkpoint 5, the better half of those to the end. The survivors keep their exact training state (the
engine gathers the run axis of its runner on the host and continues with the programs for the smaller
run count), so a survivor's numbers are those it would have had without halving, and a dropped run's
checkpoints are the first checkpoints of its un-halved training. The env steps saved this way buy more
samples: twice the candidates with rungs at a fifth and a half of the budget cost 0.95x the steps of
plain best-of-K (`Halving.cost`).

This module only decides (rungs, ranking, cost); `engines.ppo_jax` does the gathering.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Halving:
    """After each checkpoint number in `after` (1-based, before the last), keep `keep` of the candidates
    (rounded up, at least one); every seed of a kept candidate goes on, every seed of a dropped one stops."""

    after: tuple[int, ...] = (2, 5)
    keep: float = 0.5

    def __post_init__(self) -> None:
        after = tuple(self.after)
        if any(not isinstance(a, int) or isinstance(a, bool) or a < 1 for a in after):
            raise ValueError(f"halving: rungs must be checkpoint numbers >= 1, got {list(after)}")
        if list(after) != sorted(set(after)):
            raise ValueError(f"halving: rungs must be increasing and distinct, got {list(after)}")
        if not (isinstance(self.keep, int | float) and 0.0 < float(self.keep) < 1.0):
            raise ValueError(f"halving: keep must be a fraction strictly between 0 and 1, got {self.keep!r}")
        object.__setattr__(self, "after", after)
        object.__setattr__(self, "keep", float(self.keep))

    @staticmethod
    def default(n_checkpoints: int) -> Halving:
        """Rungs after a fifth and a half of the checkpoints (2 and 5 of 10): with twice the candidates
        this costs about the env steps of plain best-of-K (0.95x for 10 checkpoints)."""
        rungs = sorted({max(1, round(n_checkpoints / 5)), max(1, n_checkpoints // 2)})
        return Halving(tuple(r for r in rungs if r < n_checkpoints))

    def check(self, n_checkpoints: int) -> None:
        """ValueError unless every rung leaves training to do (a rung after the last checkpoint drops
        nothing and saves nothing, so it is a mistake in the caller's numbers)."""
        late = [a for a in self.after if a >= n_checkpoints]
        if late:
            raise ValueError(
                f"halving: rungs {late} are not before the last of the {n_checkpoints} checkpoints"
            )

    def n_keep(self, n_candidates: int) -> int:
        return max(1, math.ceil(n_candidates * self.keep - 1e-9))

    def survivors(self, best: Mapping[int, Sequence[float]]) -> tuple[int, ...]:
        """The candidates (keys of `best`: candidate -> each seed's best fitness so far) that go on, in
        key order: the `n_keep` with the highest mean over seeds; a seed without a finite fitness counts as
        minus infinity, ties go to the earlier candidate."""

        def score(c: int) -> float:
            vals = [v if math.isfinite(v) else -math.inf for v in best[c]]
            return sum(vals) / len(vals) if vals and all(math.isfinite(v) for v in vals) else -math.inf

        order = sorted(best, key=lambda c: (-score(c), c))
        return tuple(sorted(order[: self.n_keep(len(order))]))

    def cost(self, n_candidates: int, n_checkpoints: int) -> float:
        """Env steps of the batch in full trainings (one candidate, one seed trained to the end)."""
        alive, done, total = n_candidates, 0, 0.0
        for rung in (*self.after, n_checkpoints):
            total += alive * (rung - done) / n_checkpoints
            done = rung
            alive = self.n_keep(alive)
        return total

    def to_dict(self) -> dict[str, Any]:
        return {"after": list(self.after), "keep": self.keep}

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Halving:
        return Halving(tuple(int(a) for a in data["after"]), float(data["keep"]))
