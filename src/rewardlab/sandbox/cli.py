"""`rewardlab check TASK PATH.py`: check a reward program by hand, exactly as the search checks an LLM's.

`add_check_command(subparsers)` registers the subcommand on the main CLI; `run_check(args)` is its
handler. Exit codes: 0 the program passed, 1 it failed the check, 2 usage error (unknown task,
missing or unreadable file). `python -m rewardlab.sandbox.cli check TASK PATH` works without the
main CLI.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from rewardlab.sandbox.probe import DEFAULT_LIMITS, probe
from rewardlab.sandbox.report import CheckReport, Limits
from rewardlab.types import RewardProgram

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_check_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add `check` to an `argparse` subparsers object; the handler is stored as `func`."""
    p = subparsers.add_parser(
        "check",
        help="check a reward program file against a task (static policy + sandboxed probe)",
        description="Check a reward program the way rewardlab checks LLM-written ones: static policy, "
        "then a trace and run on transitions sampled from the task's environment, in a sandboxed child "
        "process. Exit code 0 if it passes, 1 if it fails, 2 on usage errors.",
    )
    p.add_argument(
        "task", help="task name (see `rewardlab tasks`), or your own: FILE.py:attr or package.module:attr"
    )
    p.add_argument("path", help="Python file defining compute_reward(state, action, next_state)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--wall", type=float, default=DEFAULT_LIMITS.wall_s, help="wall-clock limit in seconds")
    p.add_argument("--cpu", type=float, default=DEFAULT_LIMITS.cpu_s, help="CPU-time limit in seconds")
    p.add_argument("--memory-mb", type=int, default=DEFAULT_LIMITS.memory_mb, help="memory limit in MB")
    p.set_defaults(func=run_check)
    return p


def run_check(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    from rewardlab.rewards.program import RewardProgramError, read_program
    from rewardlab.tasks.ref import TaskRefError, resolve

    try:
        task, ref = resolve(args.task)
    except TaskRefError as exc:
        print(f"rewardlab check: {exc}", file=sys.stderr)
        return EXIT_USAGE
    path = Path(args.path)
    try:
        source = read_program(path).source
    except RewardProgramError as exc:
        print(f"rewardlab check: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        limits = Limits(wall_s=args.wall, cpu_s=args.cpu, memory_mb=args.memory_mb)
    except ValueError as exc:
        print(f"rewardlab check: {exc}", file=sys.stderr)
        return EXIT_USAGE
    t0 = time.perf_counter()
    report = probe(ref, RewardProgram(path.stem, source, origin="file"), limits)
    wall = time.perf_counter() - t0
    if args.json:
        print(json.dumps(report.to_dict(), indent=2), file=out)
    else:
        print(render(report, task.name, wall), file=out)
    return EXIT_OK if report.ok else EXIT_FAILED


def render(report: CheckReport, task: str, wall_s: float | None = None) -> str:
    """A readable report: verdict, message, and a table of component magnitudes."""
    took = f" in {wall_s:.1f} s" if wall_s is not None else ""
    verdict = "OK" if report.ok else f"FAILED ({report.kind})"
    lines = [f"{report.name or 'program'} on {task}: {verdict}{took}"]
    if not report.ok:
        lines += ["", report.message]
        return "\n".join(lines)
    rows = ([("total", report.total)] if report.total else []) + list(report.components.items())
    if rows:
        width = max(len(k) for k, _ in rows)
        lines += ["", f"{'term':<{width}}  {'mean |x|':>10}  {'min':>10}  {'max':>10}"]
        lines += [f"{k:<{width}}  {m.mean_abs:>10.4g}  {m.min:>10.4g}  {m.max:>10.4g}" for k, m in rows]
        lines.append("(over transitions sampled from random rollouts of the environment)")
    if report.call_seconds is not None:
        lines.append(f"one compiled call on the sampled transitions: {report.call_seconds * 1e3:.3g} ms")
    lines += [f"note: {w}" for w in report.warnings]
    return "\n".join(lines)


def _main_for_tests(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rewardlab")
    sub = parser.add_subparsers(dest="command", required=True)
    add_check_command(sub)
    args = parser.parse_args(argv)
    return args.func(args, out) if out is not None else args.func(args)


if __name__ == "__main__":
    sys.exit(_main_for_tests())
