"""Reports of a search run: statistics (`stats`), `summary.json` (`summary`) and `report.html` (`render`)."""

from __future__ import annotations

import json
from pathlib import Path


def build(run_dir: str | Path) -> Path:
    """Rebuild `summary.json` and `report.html` from the run folder alone; returns the report's path."""
    from rewardlab.report.render import render
    from rewardlab.report.summary import build_summary
    from rewardlab.store import write_text_atomic

    root = Path(run_dir)
    summary = build_summary(root)
    write_text_atomic(
        root / "summary.json", json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n"
    )
    write_text_atomic(root / "report.html", render(summary))
    return root / "report.html"


__all__ = ["build"]
