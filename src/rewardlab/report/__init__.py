"""Reports of a search run: statistics (`stats`), `summary.json` (`summary`) and `report.html` (`render`),
rebuilt from the run folder's records alone."""

from __future__ import annotations

import json
from pathlib import Path


def build(run_dir: str | Path) -> Path:
    """Rebuild `summary.json` and `report.html` from the run folder alone; returns the report's path."""
    from rewardlab.report.render import render
    from rewardlab.report.summary import build_summary
    from rewardlab.runfolder import Layout, write_text_atomic

    layout = Layout(Path(run_dir))
    summary = build_summary(layout.root)
    write_text_atomic(layout.summary, json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
    write_text_atomic(layout.report, render(summary))
    return layout.report


__all__ = ["build"]
