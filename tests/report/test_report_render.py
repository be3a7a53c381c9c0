"""summary.json and report.html rebuilt from a run folder alone; the page checked in headless Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from report_fixtures import add_unfinished_iteration, make_run

from rewardlab import runfolder
from rewardlab.report import build


def test_summary_holds_every_candidate_and_the_final_table(tmp_path):
    run = make_run(tmp_path)
    build(run)
    s = json.loads((run / "summary.json").read_text())
    statuses = [[c["status"] for c in it["candidates"]] for it in s["iterations"]]
    assert statuses == [["ok", "check_failed"], ["ok", "ok"]]
    assert [c.get("fitness") for c in s["iterations"][1]["candidates"]] == [25.0, 6.0]
    table = s["final"]["table"]
    assert table["method"]["mean"] == 40.0 and table["method"]["iqm"] == pytest.approx(40.0)
    # IQM of 3 values (30, 40, 50): weights 1/6, 2/3, 1/6 -> 40
    # human-normalised (mean): (40 - 10) / |20 - 10| = 3
    assert s["final"]["human_normalised_mean"]["value"] == pytest.approx(3.0)
    # Method - Human per seed: 30-20, 40-20, 50-20 -> mean 20, better on all 3; Human and Sparse do not
    # vary over seeds, so their gap of 10 is not noise
    diff = s["final"]["method_minus_human"]
    assert (diff["n"], diff["mean"], diff["wins"], diff["ties"]) == (3, 20.0, 3, 0)
    assert 10.0 <= diff["ci"][0] <= 20.0 <= diff["ci"][1] <= 30.0
    assert s["final"]["human_sparse_gap"]["unreliable"] is False
    win = s["winner"]
    assert win["id"] == "r0-i1-c0" and win["previous"] == "r0-i0-c0"
    assert "-    up = 1.0" in win["diff"] and "+    up = 2.0" in win["diff"]
    assert win["curves"]["component up"] == [0.0, 0.1]


def test_statuses_come_from_the_records_including_pending_candidates_of_a_killed_run(tmp_path):
    run = make_run(tmp_path, iterations=3)
    add_unfinished_iteration(run)
    build(run)
    s = json.loads((run / "summary.json").read_text())
    layout = runfolder.Layout(run)
    for it in s["iterations"]:
        recs = {r.candidate.id: r for r in runfolder.read_records(layout, 0, it["iteration"])}
        # every row is the record's own status and message (the rule the search used), nothing re-derived
        assert {c["id"]: (c["status"], c["message"]) for c in it["candidates"]} == {
            cid: (r.status, r.message if r.status != "ok" else "") for cid, r in recs.items()
        }
        assert all(c["status"] in runfolder.STATUSES for c in it["candidates"])
    last = s["iterations"][2]
    assert not last["complete"]
    assert [(c["status"], c["message"]) for c in last["candidates"]] == [
        ("pending", "not trained yet"),
        ("pending", "not checked yet"),
        ("no_code", "no fenced code"),
    ]
    assert s["iterations"][0]["candidates"][1]["message"] == "trace: no field foo"
    assert s["status"] == "running" and s["final"] is None
    html = (run / "report.html").read_text()
    assert "pending" in html and "not trained" not in html.replace("not trained yet", "")


def test_report_html_is_static_and_has_every_section(tmp_path):
    run = make_run(tmp_path)
    html = build(run).read_text()
    for text in (
        "Final evaluation",
        "Human-normalised score",
        "Method &minus; Human, paired by seed: <b>+20</b>",
        "Method better on 3 of 3 seeds.",
        "Best fitness so far",
        "Reward components of the winner",
        "Diff against the previous best",
        "no field foo",
    ):
        assert text in html
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_report_cli_rebuilds_from_the_folder(tmp_path):
    run = make_run(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "rewardlab.api.cli", "report", str(run)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert (run / "report.html").exists() and (run / "summary.json").exists()
    bad = subprocess.run(
        [sys.executable, "-m", "rewardlab.api.cli", "report", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "not a run folder" in bad.stderr


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="needs headless Chromium (Debian package `chromium`)")
def test_report_renders_in_headless_chromium(tmp_path):
    run = make_run(tmp_path)
    page = build(run)
    proc = subprocess.run(
        [_chromium(), "--headless", "--disable-gpu", "--no-sandbox", "--dump-dom", page.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    dom = proc.stdout
    assert "Final evaluation" in dom, proc.stderr[-2000:]
    assert "<td>Method</td><td>3</td><td>40</td><td>40</td>" in dom
    assert "<td>Human</td><td>3</td><td>20</td><td>20</td>" in dom
    assert "<svg" in dom


def test_the_page_warns_when_the_human_normalised_score_divides_by_noise():
    from rewardlab.report.render import _paired_lines

    final = {
        "method_minus_human": {"n": 4, "mean": -1.25, "ci": [-3.0, 0.5], "wins": 1, "ties": 1},
        "human_sparse_gap": {"unreliable": True, "message": "|Human - Sparse| = 2 is within the seed noise"},
    }
    lines = _paired_lines(final)
    assert lines[0] == (
        "<p>Method &minus; Human, paired by seed: <b>-1.25</b> (95% CI [-3, 0.5]); Method better on 1 of 4 "
        "seeds, tied on 1.</p>"
    )
    assert "unreliable</b>: |Human - Sparse| = 2 is within the seed noise." in lines[1]
    assert _paired_lines({**final, "human_sparse_gap": {"unreliable": False, "message": ""}}) == lines[:1]
