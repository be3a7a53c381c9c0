"""Hand-worked answers for the final table's statistics."""

from __future__ import annotations

import math

import pytest

from rewardlab.report.stats import (
    bootstrap_ci,
    gap_noise,
    human_normalised,
    iqm,
    paired_difference,
    summarise,
)


def test_iqm_multiple_of_four_is_mean_of_middle_half():
    # sorted: 1 2 3 4 | 5 6 7 8 -> n=8, each value owns 1/8; [0.25, 0.75] holds values 3,4,5,6 whole
    assert iqm([8, 1, 7, 2, 6, 3, 5, 4]) == pytest.approx((3 + 4 + 5 + 6) / 4)


def test_iqm_five_values_weights_quartile_values_fractionally():
    # n=5: intervals [0,.2] [.2,.4] [.4,.6] [.6,.8] [.8,1]; overlaps with [.25,.75]: 0 .15 .2 .15 0
    # weights /0.5: 0 .3 .4 .3 0 -> 0.3*1 + 0.4*2 + 0.3*4 = 2.3 (the outliers 0 and 100 have no weight)
    assert iqm([100, 0, 1, 2, 4]) == pytest.approx(2.3)


def test_iqm_three_values():
    # n=3: intervals [0,1/3] [1/3,2/3] [2/3,1]; overlaps: 1/3-1/4=1/12, 1/3, 3/4-2/3=1/12
    # weights /0.5: 1/6 2/3 1/6 -> (10 + 4*20 + 90)/6 = 30
    assert iqm([90, 10, 20]) == pytest.approx(30.0)


def test_iqm_edge_cases():
    assert iqm([7.0]) == 7.0
    assert math.isnan(iqm([]))


def test_human_normalised_score_by_hand():
    # (Method - Sparse) / |Human - Sparse| = (80 - 20) / |50 - 20| = 60 / 30 = 2
    assert human_normalised(80, 20, 50).value == pytest.approx(2.0)
    # Human below Sparse: (10 - 20) / |5 - 20| = -10 / 15
    assert human_normalised(10, 20, 5).value == pytest.approx(-2 / 3)
    # equal to Sparse -> 0; equal to Human (Human > Sparse) -> 1
    assert human_normalised(20, 20, 50).value == 0.0
    assert human_normalised(50, 20, 50).value == 1.0


def test_human_normalised_undefined_when_human_equals_sparse():
    out = human_normalised(3.0, 1.0, 1.0)
    assert math.isnan(out.value)
    assert "equal" in out.message
    assert math.isnan(human_normalised(math.nan, 1.0, 2.0).value)


def test_bootstrap_is_deterministic_and_brackets_the_statistic():
    vals = [1.0, 2.0, 3.0, 4.0, 10.0]
    a = bootstrap_ci(vals, seed=3)
    assert a == bootstrap_ci(vals, seed=3)
    assert a[0] <= iqm(vals) <= a[1]
    assert a[0] >= 1.0 and a[1] <= 10.0


def test_bootstrap_of_mean_two_points_by_hand():
    # resamples of [0, 1] have means 0 (prob 1/4), 0.5 (1/2), 1 (1/4): the 95% interval is [0, 1]
    lo, hi = bootstrap_ci([0.0, 1.0], lambda x: sum(x) / len(x), n_boot=4000, seed=0)
    assert (lo, hi) == (0.0, 1.0)
    # a constant sample has a zero-width interval
    assert bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0)


def test_summarise_drops_non_finite_values():
    s = summarise([1.0, math.nan, 3.0])
    assert s.n == 2 and s.mean == 2.0 and s.values == (1.0, 3.0)


def test_paired_difference_by_hand():
    method = {0: 40.0, 1: 30.0, 2: 50.0, 7: 1.0}
    human = {0: 20.0, 1: 35.0, 2: 20.0, 3: 99.0, 7: math.nan}
    p = paired_difference(method, human)  # seeds 0, 1, 2: differences 20, -5, 30
    assert (p.n, p.mean, p.wins, p.ties) == (3, 15.0, 2, 0)
    assert -5.0 <= p.ci_low < 15.0 < p.ci_high <= 30.0
    assert paired_difference(method, human) == p  # deterministic
    tie = paired_difference({0: 1.0, 1: 2.0}, {0: 1.0, 1: 1.0})
    assert (tie.wins, tie.ties, tie.mean) == (1, 1, 0.5)
    assert paired_difference({0: 1.0}, {1: 1.0}).n == 0


def test_hns_is_flagged_when_human_minus_sparse_is_within_the_noise():
    # means 20 and 10, sd 2 each over 3 seeds: se = sqrt(4/3 + 4/3) = 1.633, 2 se = 3.27 < 10
    clear = gap_noise([20.0, 22.0, 18.0], [10.0, 12.0, 8.0])
    assert not clear.unreliable and clear.gap == 10.0 and clear.noise == pytest.approx(3.266, abs=1e-3)
    # sd 14.14 and 7.07 over 2 seeds: se = sqrt(200/2 + 50/2) = 11.18, 2 se = 22.4 > 10
    noisy = gap_noise([10.0, 30.0], [5.0, 15.0])
    assert noisy.unreliable and noisy.noise == pytest.approx(22.36, abs=1e-2)
    assert "within the seed noise" in noisy.message
    assert gap_noise([20.0], [10.0, 11.0]).unreliable  # one seed: the noise is unknown
