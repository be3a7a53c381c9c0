"""Confirmation: which candidates are retrained on fresh seeds, and how the winner is chosen."""

from __future__ import annotations

from rewardlab.runfolder import Candidate, ConfirmRow, EvalRecord
from rewardlab.search.config import SearchConfig
from rewardlab.search.confirm import _winner, confirm, shortlist
from rewardlab.types import Checkpoint, TrainResult


def _rec(i: int, j: int, fit: float | None, origin: str = "mutation") -> EvalRecord:
    cand = Candidate(0, i, j, "src", origin)
    if fit is None:
        return EvalRecord(cand, "check_failed", message="bad")
    cp = Checkpoint(100, fit, {}, fit, fit, 10.0, {})
    return EvalRecord(cand, "ok", results=(TrainResult(cand.id, 0, "ok", (cp,), 100, 1.0, 1.0),))


def test_shortlist_is_the_top_k_plus_the_starting_reward():
    history = [_rec(0, 0, 1.0, "human"), _rec(0, 1, 5.0), _rec(0, 2, None), _rec(1, 0, 4.0), _rec(1, 1, 3.0)]
    ids = [r.candidate.id for r in shortlist(history, 2)]
    assert ids == ["r0-i0-c1", "r0-i1-c0", "r0-i0-c0"]  # the human start is added even though it ranks last
    assert [r.candidate.id for r in shortlist(history, 10)] == [
        "r0-i0-c1", "r0-i1-c0", "r0-i1-c1", "r0-i0-c0"
    ]  # fmt: skip


def test_winner_is_the_best_confirmed_mean_and_ties_go_to_the_higher_search_rank():
    row = lambda cid, f: ConfirmRow(cid, "mutation", None, f)
    rows = [row("a", 3.0), row("b", 4.0), row("c", 4.0), row("d", None)]
    assert _winner(rows) == "b"
    assert _winner([row("d", None)]) is None


def test_nothing_to_compare_trains_nothing(tmp_path):
    # a single trained candidate: returned with its search fitness, no worker started, no file written
    only = _rec(0, 0, 7.0, "human")
    best, score = confirm(None, SearchConfig(), None, None, 0, [only, _rec(0, 1, None)])  # type: ignore[arg-type]
    assert best is only and score == 7.0
    assert confirm(None, SearchConfig(), None, None, 0, [])[0] is None  # type: ignore[arg-type]


def test_a_run_folder_from_before_confirmation_resumes_as_it_was_created():
    later = ("confirm_top", "add_terms", "skip_rescales")
    old = {k: v for k, v in SearchConfig().to_dict().items() if k not in later}
    cfg = SearchConfig.from_dict(old)
    assert cfg.confirm_top == 0 and cfg.add_terms is False and cfg.skip_rescales is False
    new = SearchConfig.from_dict(SearchConfig().to_dict())
    assert new.confirm_top == 4 and new.add_terms is True and new.skip_rescales is True
