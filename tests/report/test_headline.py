"""The end-of-run lines: rounding to the uncertainty, the paired verdict and the flagged normalised score,
with answers worked out by hand."""

from __future__ import annotations

import json
import math

import pytest

from rewardlab.report.headline import headline, normalised_line, paired_line, rounded, table_lines


@pytest.mark.parametrize(
    ("value", "unc", "text"),
    [
        (339.7, 139.0, "340"),  # uncertainty 1.4e2 -> two digits of it -> tens
        (411.1, 78.45, "411"),  # 78 -> units
        (0.5541, 0.031, "0.554"),  # 0.031 -> thousandths
        (-71.26, 115.0, "-70"),
        (0.004, 0.3, "0"),  # rounds to zero: no "-0.00" or "0.00"
        (-0.004, 0.3, "0"),
        (12.345, None, "12.3"),  # unknown uncertainty: three significant digits
        (12.345, 0.0, "12.3"),
        (math.nan, 1.0, "n/a"),
        (None, 1.0, "n/a"),
    ],
)
def test_rounded_keeps_two_digits_of_the_uncertainty(value, unc, text):
    assert rounded(value, unc) == text


def test_table_lines_round_each_row_by_its_own_ci():
    table = {
        "method": {"mean": 339.7, "iqm": 327.6, "ci": [213.2, 491.0], "n": 5},
        "human": {"mean": 411.1, "iqm": 422.9, "ci": [322.1, 479.0], "n": 5},
    }
    # method: half-width (491 - 213.2) / 2 = 138.9 -> tens; human: 78.45 -> units
    assert table_lines(table) == [
        "  method  mean 340  IQM 330  95% CI [210, 490]  (5 seeds)",
        "  human   mean 411  IQM 423  95% CI [322, 479]  (5 seeds)",
    ]


def test_paired_verdicts():
    # the CI above zero: the searched reward wins; half-width 25 -> units
    up = paired_line({"n": 16, "mean": 99.34, "ci": [74.1, 124.1], "wins": 13})
    assert up == (
        "  method - human (paired by seed): +99  95% CI [+74, +124], better on 13/16 seeds: "
        "the searched reward beats the human reward"
    )
    down = paired_line({"n": 5, "mean": -0.2, "ci": [-0.31, -0.09], "wins": 0})
    assert down is not None and down.endswith("the human reward beats the searched one")
    assert "-0.20" in down and "[-0.31, -0.09]" in down
    tie = paired_line({"n": 5, "mean": -71.4, "ci": [-190.0, 40.0], "wins": 2})
    assert tie is not None
    assert "better on 2/5 seeds: no clear difference at 5 seeds (the CI contains 0)" in tie
    # two seeds: a bootstrap "CI" spans the two differences, so no winner is named however far from 0
    few = paired_line({"n": 2, "mean": 1.81, "ci": [0.97, 2.66], "wins": 2})
    assert few is not None and few.endswith("too few paired seeds to tell (use --final-seeds 5 or more)")
    # the winner is the human reward itself (a GPU does not repeat a training bit for bit)
    same = paired_line({"n": 16, "mean": 1.81, "ci": [0.97, 2.66], "wins": 12, "same_reward": True})
    assert same is not None
    assert same.endswith("the search kept the human reward unchanged, so the difference is training noise")
    assert paired_line({"n": 0, "mean": None, "ci": [None, None], "wins": 0}) is None
    assert paired_line(None) is None


def test_normalised_score_is_rounded_and_flagged():
    final = {
        "human_normalised_mean": {"value": -0.27292965271593933, "message": ""},
        "human_normalised_iqm": {"value": -0.0975, "message": ""},
        "human_sparse_gap": {
            "unreliable": True,
            "message": "|Human - Sparse| = 56.1 is within the seed noise",
        },
    }
    line = normalised_line(final)
    assert line == (
        "  human-normalised score: mean -0.273, IQM -0.0975 (unreliable: |Human - Sparse| = 56.1 is within "
        "the seed noise)"
    )
    final["human_sparse_gap"] = {"unreliable": False}
    assert normalised_line(final) == "  human-normalised score: mean -0.273, IQM -0.0975"
    undefined = {"human_normalised_mean": {"value": None, "message": "Human and Sparse scores are equal"}}
    assert normalised_line(undefined) == "  human-normalised score: n/a (Human and Sparse scores are equal)"


def test_print_result_shows_the_headline(tmp_path, capsys):
    from rewardlab.api.cli import _print_result

    final = {
        "table": {
            name: {"mean": m, "iqm": m, "ci": [m - 10, m + 10], "n": 5, "values": [m] * 5}
            for name, m in (("method", 120.04), ("human", 100.0), ("sparse", 50.0))
        },
        "method_minus_human": {"n": 5, "mean": 20.04, "ci": [15.0, 25.0], "wins": 5},
        "human_normalised_mean": {"value": 1.4008, "message": ""},
    }
    (tmp_path / "summary.json").write_text(json.dumps({"iterations": [], "final": final}))
    assert _print_result(tmp_path) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1:] == [*headline(final), f"report: {tmp_path / 'report.html'}"]
    assert "  method  mean 120  IQM 120  95% CI [110, 130]  (5 seeds)" in out  # half-width 10 -> units
    assert "+20.0  95% CI [+15.0, +25.0], better on 5/5 seeds: the searched reward beats" in out  # 5 -> 0.1
    assert "human-normalised score: mean 1.4" in out
