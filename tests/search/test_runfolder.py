"""The run-folder schema: one status rule, records that survive a round trip through their files, and
the files of older run folders still read."""

from __future__ import annotations

import json
import math

import pytest

from rewardlab import runfolder
from rewardlab.runfolder import (
    Candidate,
    Confirmation,
    ConfirmRow,
    FinalResults,
    IterationRecord,
    Layout,
    MethodInfo,
    Verdict,
    record,
)
from rewardlab.sandbox import CheckReport
from rewardlab.types import Checkpoint, TrainResult

CODE = "def compute_reward(state, action, next_state):\n    return 1.0, {}\n"


def _result(name: str, fit: float, status: str = "ok", message: str = "") -> TrainResult:
    cp = Checkpoint(100, fit, {}, fit, fit, 10.0, {})
    return TrainResult(name, 0, status, (cp,), 100, 1.0, 1.0, message=message)  # type: ignore[arg-type]


def test_one_status_rule_for_every_step_a_candidate_reached():
    cand = Candidate(0, 1, 2, CODE, "llm")
    passed, failed = CheckReport(ok=True), CheckReport.failure("trace", "no field foo", line=3)
    cases = [
        (Candidate(0, 1, 2, None, "llm", extract_reason="no code"), None, None, "no_code", "no code"),
        (cand, None, None, "pending", "not checked yet"),
        (cand, failed, None, "check_failed", "trace: no field foo"),
        (cand, passed, None, "pending", "not trained yet"),
        (cand, passed, (), "train_failed", "training returned no result"),
        (cand, passed, (_result("x", 1.0, "error", "timed out"),), "train_failed", "error: timed out"),
        (cand, passed, (_result("x", math.nan),), "train_failed",
         "seed 0: no finite fitness at any checkpoint"),
        (cand, passed, (_result("x", 4.0), _result("x", 2.0)), "ok", ""),
    ]
    for c, check, results, status, message in cases:
        rec = record(c, check, results)
        assert (rec.status, rec.message) == (status, message)
        assert rec.status in runfolder.STATUSES
        assert (rec.fitness is not None) == (status == "ok")
    assert record(cand, passed, (_result("x", 4.0), _result("x", 2.0))).fitness == 3.0


def test_candidates_and_their_steps_round_trip_through_the_folder(tmp_path):
    layout = Layout(tmp_path)
    cand = Candidate(1, 2, 3, CODE, "mutation", parent="r1-i1-c0", response_text="reply", note="perturbed")
    assert runfolder.read_record(layout, 1, 2, 3) is None  # not proposed
    runfolder.write_candidate(layout, cand, {"messages": []})
    assert (tmp_path / "restart_01" / "iter_002" / "cand_003" / "candidate.json").exists()
    assert runfolder.read_candidate(layout, 1, 2, 3) == cand
    assert runfolder.read_record(layout, 1, 2, 3).status == "pending"
    runfolder.write_check(layout, cand, CheckReport(ok=True))
    runfolder.write_results(layout, cand, [_result(cand.id, 5.0)])
    rec = runfolder.read_record(layout, 1, 2, 3)
    assert rec.status == "ok" and rec.fitness == 5.0
    (layout.iteration_dir(1, 2) / "cand_junk").mkdir()
    assert [r.candidate.id for r in runfolder.read_records(layout, 1, 2)] == ["r1-i2-c3"]
    assert runfolder.parse_candidate_id(cand.id) == (1, 2, 3)
    with pytest.raises(ValueError):
        runfolder.parse_candidate_id("confirm-r0-i0-c0")


def test_stage_records_round_trip_and_old_files_still_read(tmp_path):
    layout = Layout(tmp_path)
    it = IterationRecord(0, 1, (Verdict("r0-i1-c0", "ok", 2.0),), "r0-i1-c0", 2.0, "refl", ("err",), None)
    runfolder.write_iteration(layout, it)
    assert runfolder.read_iteration(layout, 0, 1) == it
    row = ConfirmRow("r0-i1-c0", "mutation", 2.0, 1.5, (1.0, 2.0))
    conf = Confirmation(0, (500, 501), (row,), "r0-i1-c0")
    runfolder.write_confirmation(layout, conf)
    assert runfolder.read_confirmation(layout, 0) == conf and layout.confirm(0) == tmp_path / "confirm.json"
    method = MethodInfo("r0-i1-c0", 2.0, 1.5, same_as_human=True)
    final = FinalResults((1000,), method, {"method": (_result("method", 3.0),)})
    runfolder.write_final(layout, final)
    assert runfolder.read_final(layout) == final

    # files written before these records existed
    layout.iteration_dir(0, 2).mkdir()
    layout.iteration(0, 2).write_text(json.dumps({"best": "r0-i1-c0", "best_fitness": 2.0}))
    old_it = runfolder.read_iteration(layout, 0, 2)
    assert (old_it.iteration, old_it.best, old_it.candidates, old_it.errors) == (2, "r0-i1-c0", (), ())
    method = {"candidate": "r0-i1-c0", "search_fitness": 2.0}  # no confirm_fitness yet
    layout.final_results.write_text(json.dumps({"seeds": [1000], "method": method, "results": {}}))
    assert runfolder.read_final(layout).method == MethodInfo("r0-i1-c0", 2.0, None)
