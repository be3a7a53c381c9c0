"""`rewardlab search`, `rewardlab resume` and `rewardlab report` (wired in by `rewardlab.cli`).

Heavy imports (JAX, the sandbox, the LLM SDKs) happen inside the handlers so `rewardlab --help`
stays instant.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_search_commands(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "search",
        help="search for a reward with the Eureka loop (LLM or the LLM-free proposer)",
        description="Propose reward programs, check and train them, reflect and select, for N iterations; "
        "then retrain the winner and the Sparse and Human baselines on fresh seeds and write report.html.",
    )
    p.add_argument("task", help="task name, e.g. CartPole-v1 (see `rewardlab tasks`)")
    p.add_argument(
        "--llm",
        default=None,
        metavar="SPEC",
        help="LLM spec: openai:M[@URL], ollama:M, anthropic:M, manual:DIR, scripted:FILE.json; "
        "omitted: the LLM-free proposer",
    )
    p.add_argument("--samples", type=int, default=16, help="candidates per iteration (default 16)")
    p.add_argument("--iterations", type=int, default=5, help="iterations per restart (default 5)")
    p.add_argument("--restarts", type=int, default=1, help="independent restarts (default 1)")
    p.add_argument("--seeds", type=int, default=1, help="training seeds per candidate during the search")
    p.add_argument(
        "--final-seeds", type=int, default=5, help="fresh seeds of the final evaluation (default 5)"
    )
    p.add_argument(
        "--confirm-top",
        type=int,
        default=4,
        help="retrain this many best candidates (plus the starting reward) on fresh seeds before "
        "choosing the winner; 0 = pick the single-run best (default 4)",
    )
    p.add_argument(
        "--confirm-seeds", type=int, default=3, help="fresh seeds per confirmed candidate (default 3)"
    )
    p.add_argument("--out", default="runs", help="parent folder of the run folder (default ./runs)")
    p.add_argument(
        "--init",
        default=None,
        metavar="human|PATH",
        help="start from an existing reward (iteration 0 improves it)",
    )
    p.add_argument(
        "--feedback",
        choices=("auto", "human"),
        default="auto",
        help="human: after each iteration, ask for a comment added to the reflection",
    )
    p.add_argument(
        "--feedback-file", default=None, help="with --feedback human off a terminal: the comment file"
    )
    p.add_argument(
        "--timesteps",
        type=int,
        default=None,
        help="environment steps per candidate (default: a per-task search budget; 0 = task default)",
    )
    p.add_argument("--checkpoints", type=int, default=5, help="checkpoints per training run (default 5)")
    p.add_argument("--eval-episodes", type=int, default=8, help="evaluation episodes per checkpoint")
    p.add_argument(
        "--train-timeout", type=float, default=600.0, help="wall-clock limit per training batch (s)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the proposer and of training")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override any SearchConfig field (repeatable), e.g. --set check=probe",
    )
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=_search)

    r = subparsers.add_parser("resume", help="continue a killed search from its run folder")
    r.add_argument("run", help="the run folder (runs/<task>-<time>-<id>)")
    r.add_argument("--quiet", action="store_true", help="no progress line")
    r.add_argument(
        "--force",
        action="store_true",
        help="resume even if run.json says another live process is driving the run",
    )
    r.set_defaults(func=_resume)

    rep = subparsers.add_parser(
        "report", help="rebuild report.html and summary.json of a run from its folder"
    )
    rep.add_argument("run", help="the run folder")
    rep.set_defaults(func=_report)


def config_from_args(args: argparse.Namespace) -> Any:
    from rewardlab.config import apply_overrides
    from rewardlab.search.config import DEFAULT_TIMESTEPS, SearchConfig

    timesteps = args.timesteps if args.timesteps is not None else DEFAULT_TIMESTEPS.get(args.task, 0)
    overrides = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set expects NAME=VALUE, got {item!r}")
        overrides[name.strip()] = value
    config = SearchConfig(
        task=args.task,
        llm=args.llm,
        samples=args.samples,
        iterations=args.iterations,
        restarts=args.restarts,
        seeds=args.seeds,
        final_seeds=args.final_seeds,
        confirm_top=args.confirm_top,
        confirm_seeds=args.confirm_seeds,
        init=args.init,
        feedback=args.feedback,
        feedback_file=args.feedback_file,
        seed=args.seed,
        timesteps=timesteps,
        n_checkpoints=args.checkpoints,
        eval_episodes=args.eval_episodes,
        train_timeout_s=args.train_timeout,
    )
    return apply_overrides(config, overrides)


def _search(args: argparse.Namespace) -> int:
    from rewardlab import tasks
    from rewardlab.search.loop import search
    from rewardlab.search.progress import Progress

    try:
        tasks.get(args.task)
        config = config_from_args(args)
    except (KeyError, ValueError) as exc:
        print(f"rewardlab search: {exc}", file=sys.stderr)
        return 2
    progress = Progress(config.iterations, config.restarts, enabled=not args.quiet)
    run_dir = search(config, args.out, command=list(sys.argv), progress=progress)
    return _print_result(run_dir)


def _resume(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rewardlab.search.config import SearchConfig
    from rewardlab.search.loop import resume
    from rewardlab.search.progress import Progress
    from rewardlab.store import RunStore

    if not (Path(args.run) / "run.json").exists():
        print(f"rewardlab resume: {args.run} is not a run folder (no run.json)", file=sys.stderr)
        return 2
    from rewardlab.search.loop import RunInUse

    config = SearchConfig.from_dict(RunStore(args.run).read_config())
    try:
        run_dir = resume(
            args.run,
            progress=Progress(config.iterations, config.restarts, enabled=not args.quiet),
            force=args.force,
        )
    except RunInUse as exc:
        print(f"rewardlab resume: {exc}", file=sys.stderr)
        return 2
    return _print_result(run_dir)


def _report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rewardlab.report import build

    if not (Path(args.run) / "config.yaml").exists():
        print(f"rewardlab report: {args.run} is not a run folder (no config.yaml)", file=sys.stderr)
        return 2
    print(build(args.run))
    return 0


def _print_result(run_dir: Any) -> int:
    """Print the final table; exit status 1 when no candidate trained or a final evaluation failed outright.

    Failures are shown with their message: a search whose every run failed for one reason (a broken
    install, an unwritable folder) must say why, not print a table of NaN.
    """
    import json

    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    final = summary.get("final") or {}
    table = final.get("table", {})
    print(f"run folder: {run_dir}")
    failed_outright = False
    for name in ("method", "human", "sparse"):
        if name in table:
            row = table[name]
            print(
                f"  {name:7s} mean {row['mean']:.4g}  IQM {row['iqm']:.4g}  CI [{row['ci'][0]:.4g}, "
                f"{row['ci'][1]:.4g}]  ({row['n']} seeds)"
            )
            if row.get("failed"):
                print(f"          {row['failed']} run(s) failed: {'; '.join(row.get('errors', []))[:500]}")
                failed_outright = failed_outright or row["n"] == 0
    hns = final.get("human_normalised_mean")
    if hns:
        print(
            f"  human-normalised score (mean): {hns['value'] if hns['value'] is not None else hns['message']}"
        )
    trained = [c for it in summary.get("iterations", []) for c in it.get("candidates", [])
               if c.get("status") == "ok"]
    if summary.get("iterations") and not trained:
        print("error: no candidate trained successfully; see the messages above and the run folder",
              file=sys.stderr)
    print(f"report: {run_dir / 'report.html'}")
    return 1 if failed_outright or (summary.get("iterations") and not trained) else 0


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point (`python -m rewardlab.search.cli search ...`) until `rewardlab.cli` wires it."""
    parser = argparse.ArgumentParser(prog="rewardlab")
    add_search_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
