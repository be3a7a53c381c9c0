"""Statistics of the final table: IQM over seeds, percentile bootstrap CIs, human-normalised score.

IQM follows the quantile-function definition: the mean of the sorted sample's step quantile function
over [0.25, 0.75]. Each of n sorted values owns the interval [i/n, (i+1)/n]; its weight is the length
of that interval inside [0.25, 0.75], divided by 0.5. When n is a multiple of 4 this is the plain mean
of the middle half (rliable's trimmed mean); otherwise the values at the quartiles count fractionally,
so every sample size gets a well-defined, continuous IQM.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
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
