"""Statistics of the final table: IQM over seeds, percentile bootstrap CIs, human-normalised score, the
paired difference Method - Human, and whether the human-normalised score can be trusted.

IQM follows the quantile-function definition: the mean of the sorted sample's step quantile function
over [0.25, 0.75]. Each of n sorted values owns the interval [i/n, (i+1)/n]; its weight is the length
of that interval inside [0.25, 0.75], divided by 0.5. When n is a multiple of 4 this is the plain mean
of the middle half (rliable's trimmed mean); otherwise the values at the quartiles count fractionally,
so every sample size gets a well-defined, continuous IQM.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np


def iqm(values: Sequence[float]) -> float:
    """Interquartile mean with fractional weights at the quartiles (NaN for an empty sample)."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0:
        return math.nan
    lo = np.arange(n) / n
    hi = (np.arange(n) + 1) / n
    weights = np.clip(np.minimum(hi, 0.75) - np.maximum(lo, 0.25), 0.0, None) / 0.5
    return float(np.sum(weights * x))


def bootstrap_ci(
    values: Sequence[float],
    statistic: Callable[[Sequence[float]], float] = iqm,
    *,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of `statistic` (resampling seeds with replacement; deterministic)."""
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        return (math.nan, math.nan)
    if len(x) == 1:
        return (float(x[0]), float(x[0]))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(n_boot, len(x)))
    stats = np.array([statistic(x[row]) for row in idx])
    alpha = (1.0 - level) / 2.0
    return float(np.quantile(stats, alpha)), float(np.quantile(stats, 1.0 - alpha))


@dataclass(frozen=True)
class Normalised:
    """A human-normalised score, or NaN with the reason it is undefined."""

    value: float
    message: str = ""


def human_normalised(method: float, sparse: float, human: float) -> Normalised:
    """(Method - Sparse) / |Human - Sparse| (Eureka's definition).

    0 means as good as Sparse; 1 as good as Human when Human > Sparse.
    """
    if not all(math.isfinite(v) for v in (method, sparse, human)):
        return Normalised(math.nan, "a score is missing or not finite")
    gap = abs(human - sparse)
    if gap == 0.0:
        return Normalised(math.nan, "Human and Sparse scores are equal, so the normalised score is undefined")
    return Normalised((method - sparse) / gap)


@dataclass(frozen=True)
class Summary:
    """One row of the final table."""

    n: int
    mean: float
    iqm: float
    ci_low: float
    ci_high: float
    values: tuple[float, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "n": self.n,
            "mean": self.mean,
            "iqm": self.iqm,
            "ci": [self.ci_low, self.ci_high],
            "values": list(self.values),
        }


def summarise(values: Sequence[float], *, seed: int = 0) -> Summary:
    vals = [float(v) for v in values if math.isfinite(v)]
    lo, hi = bootstrap_ci(vals, seed=seed)
    mean = float(np.mean(vals)) if vals else math.nan
    return Summary(len(vals), mean, iqm(vals), lo, hi, tuple(vals))


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else math.nan


@dataclass(frozen=True)
class Paired:
    """A - B on the seeds both trained on: the mean per-seed difference with a bootstrap CI, and on how
    many seeds A was better. Pairing removes what a seed does to both rewards alike (the same
    environment draws, the same initial policy), which unpaired means of a few seeds cannot separate."""

    n: int
    mean: float
    ci_low: float
    ci_high: float
    wins: int
    ties: int

    def to_dict(self) -> dict[str, object]:
        return {
            "n": self.n,
            "mean": self.mean,
            "ci": [self.ci_low, self.ci_high],
            "wins": self.wins,
            "ties": self.ties,
        }


def paired_difference(a: Mapping[int, float], b: Mapping[int, float], *, seed: int = 0) -> Paired:
    """`a[s] - b[s]` over the seeds `s` where both are finite; the CI is the percentile bootstrap of the
    mean difference."""
    common = sorted(s for s in a if s in b and math.isfinite(a[s]) and math.isfinite(b[s]))
    diffs = [a[s] - b[s] for s in common]
    lo, hi = bootstrap_ci(diffs, _mean, seed=seed)
    wins = sum(1 for d in diffs if d > 0)
    return Paired(len(diffs), _mean(diffs), lo, hi, wins, sum(1 for d in diffs if d == 0))


@dataclass(frozen=True)
class GapNoise:
    """Whether |Human - Sparse|, the denominator of the human-normalised score, stands out of seed noise."""

    unreliable: bool
    gap: float
    noise: float
    """`z` standard errors of the difference of the two means (NaN when it cannot be estimated)."""
    message: str = ""


def gap_noise(human: Sequence[float], sparse: Sequence[float], z: float = 2.0) -> GapNoise:
    """Flag the human-normalised score when |mean Human - mean Sparse| is within `z` standard errors of
    that difference (Welch's, from each reward's sample standard deviation over seeds): dividing by a gap
    of that size turns seed noise into large, meaningless scores."""
    h = [float(v) for v in human if math.isfinite(v)]
    sp = [float(v) for v in sparse if math.isfinite(v)]
    if len(h) < 2 or len(sp) < 2:
        msg = "fewer than 2 seeds of Human or Sparse: the noise of |Human - Sparse| is unknown"
        return GapNoise(True, abs(_mean(h) - _mean(sp)), math.nan, msg)
    gap = abs(_mean(h) - _mean(sp))
    se = math.sqrt(float(np.var(h, ddof=1)) / len(h) + float(np.var(sp, ddof=1)) / len(sp))
    noise = z * se
    if gap > noise:
        return GapNoise(False, gap, noise)
    msg = (
        f"|Human - Sparse| = {gap:.3g} is within the seed noise ({z:g} standard errors = {noise:.3g}), "
        "so the human-normalised score mostly measures noise"
    )
    return GapNoise(True, gap, noise, msg)
