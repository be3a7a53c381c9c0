"""Full Cooper experiment driver: ``rewardlab cooper run`` with the report copied to docs/results/cooper/.

    nice -n 10 python benchmarks/cooper.py --out runs/cooper-full --workers 2 [--set field=value ...]

Resumable: rerun the same command and finished arm/seed runs are skipped. Extra arguments are passed
to ``rewardlab cooper run`` unchanged.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from rewardlab.cooper.cli import main as cooper_main
from rewardlab.cooper.report import write_report

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results" / "cooper"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--out" not in argv:
        argv = ["--out", "runs/cooper-full", *argv]
    dest = RESULTS
    if "--results" in argv:
        i = argv.index("--results")
        dest = Path(argv[i + 1])
        del argv[i : i + 2]
    rc = cooper_main(["cooper", "run", "--no-report", *argv])
    out = Path(argv[argv.index("--out") + 1])
    command = "python benchmarks/cooper.py " + " ".join(shlex.quote(a) for a in argv)
    print(write_report(out, dest, command=command))
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
