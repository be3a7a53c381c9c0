"""summary.json and report.html rebuilt from a run folder alone; the page checked in headless Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from report_fixtures import make_run

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
    win = s["winner"]
    assert win["id"] == "r0-i1-c0" and win["previous"] == "r0-i0-c0"
    assert "-    up = 1.0" in win["diff"] and "+    up = 2.0" in win["diff"]
    assert win["curves"]["component up"] == [0.0, 0.1]


def test_report_html_is_static_and_has_every_section(tmp_path):
    run = make_run(tmp_path)
    html = build(run).read_text()
    for text in (
        "Final evaluation",
        "Human-normalised score",
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
        [sys.executable, "-m", "rewardlab.search.cli", "report", str(run)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert (run / "report.html").exists() and (run / "summary.json").exists()
    bad = subprocess.run(
        [sys.executable, "-m", "rewardlab.search.cli", "report", str(tmp_path / "nope")],
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
