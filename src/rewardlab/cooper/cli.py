"""``rewardlab cooper run`` / ``rewardlab cooper report``; heavy imports happen inside the handlers.

Wire into the main CLI with ``add_cooper_command(subparsers)``; each subcommand sets ``func`` (returns an
exit code). ``python -m rewardlab.cooper.cli ...`` runs the same commands standalone.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path


def _run(args: argparse.Namespace) -> int:
    import dataclasses

    from rewardlab.cooper.config import make_config

    overrides = list(args.set or [])
    cfg = make_config(args.preset, overrides)
    extra = {}
    if args.arms:
        extra["arms"] = tuple(a for a in args.arms.split(",") if a)
    if args.seeds:
        extra["seeds"] = tuple(int(s) for s in args.seeds.split(",") if s)
    if args.workers:
        extra["workers"] = args.workers
    if extra:
        cfg = dataclasses.replace(cfg, **extra)
    from rewardlab.cooper.experiment import run_experiment
    from rewardlab.cooper.report import write_report

    out = Path(args.out)
    run_experiment(cfg, out, policy_from=Path(args.policy_from) if args.policy_from else None)
    if not args.no_report:
        tail = (
            getattr(args, "argv_tail", None) or sys.argv[sys.argv.index("run") + 1 :]
            if "run" in sys.argv
            else []
        )
        command = "rewardlab cooper run " + " ".join(shlex.quote(a) for a in tail)
        print(write_report(out, Path(args.report_dir) if args.report_dir else None, command=command))
    return 0


def _report(args: argparse.Namespace) -> int:
    from rewardlab.cooper.report import write_report

    print(write_report(Path(args.run), Path(args.dest) if args.dest else None, command=args.command))
    return 0


def add_cooper_command(subparsers) -> argparse.ArgumentParser:
    """Add ``cooper run`` and ``cooper report`` to argparse subparsers; returns the ``cooper`` parser."""
    cooper = subparsers.add_parser(
        "cooper", help="Cooper: co-optimised policy and reference-based RM in GRPO (CPU-scale reproduction)."
    )
    sub = cooper.add_subparsers(dest="cooper_command", required=True)
    run = sub.add_parser(
        "run",
        help="SFT + RM once, then rule / static RM / Cooper GRPO arms x seeds "
        "(resumable: finished runs are skipped).",
    )
    run.add_argument("--out", required=True, help="Run folder (created; rerun the same command to resume).")
    run.add_argument(
        "--preset",
        default="full",
        choices=["full", "hacking", "smoke"],
        help="Base configuration (hacking: the RM has a planted blind spot; see docs/cooper.md).",
    )
    run.add_argument(
        "--set",
        action="append",
        metavar="FIELD=VALUE",
        help="Override a CooperConfig field (repeatable; tuples comma separated).",
    )
    run.add_argument("--arms", help="Comma-separated arms (rule,static,cooper).")
    run.add_argument("--seeds", help="Comma-separated GRPO seeds.")
    run.add_argument("--workers", type=int, help="Parallel arm/seed processes.")
    run.add_argument(
        "--policy-from",
        help="Reuse another run folder's SFT policy (same task, policy), and its RM when the base matches.",
    )
    run.add_argument("--no-report", action="store_true", help="Skip writing report.md/curves.png at the end.")
    run.add_argument("--report-dir", help="Write the report here instead of the run folder.")
    run.set_defaults(func=_run)
    rep = sub.add_parser("report", help="Table, hacking onset and curves from a run folder.")
    rep.add_argument("--run", required=True, help="Run folder written by `cooper run`.")
    rep.add_argument("--dest", help="Output folder (default: the run folder).")
    rep.add_argument("--command", help="Command line to record in the report.")
    rep.set_defaults(func=_report)
    return cooper


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="rewardlab")
    add_cooper_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    args.argv_tail = argv[2:] if len(argv) > 2 else []
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
