"""`rewardlab search`, `rewardlab resume` and `rewardlab report` (wired in by `rewardlab.cli`).

The options of `search` are made from `SearchConfig`'s fields (type, default and help text), so the
command line and the Python API share one set of defaults. Heavy imports (JAX, the sandbox, the LLM
SDKs) happen inside the handlers so `rewardlab --help` stays instant. Handlers raise; the one error path
(`rewardlab.api.errors`) turns an error into one line and an exit status.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from typing import Any

from rewardlab.search.config import SearchConfig

OPTIONS: tuple[tuple[str, str, str | None], ...] = (
    # (SearchConfig field, flag, metavar); every other field is reachable with --set NAME=VALUE
    ("llm", "--llm", "SPEC"),
    ("llm_timeout_s", "--llm-timeout", "SECONDS"),
    ("llm_concurrency", "--llm-concurrency", "N"),
    ("samples", "--samples", "K"),
    ("iterations", "--iterations", "N"),
    ("restarts", "--restarts", "R"),
    ("seeds", "--seeds", "S"),
    ("final_seeds", "--final-seeds", "F"),
    ("confirm_top", "--confirm-top", "K"),
    ("confirm_seeds", "--confirm-seeds", "S"),
    ("reflection", "--reflection", None),
    ("elites", "--elites", "N"),
    ("init", "--init", "human|PATH"),
    ("warm_start", "--warm-start", "FILE.policy.npz"),
    ("baselines", "--baseline", "SPEC"),
    ("baseline_llm", "--baseline-llm", "SPEC"),
    ("baseline_encoder", "--baseline-encoder", "DIR"),
    ("feedback", "--feedback", None),
    ("feedback_file", "--feedback-file", "FILE"),
    ("timesteps", "--timesteps", "T"),
    ("n_checkpoints", "--checkpoints", "C"),
    ("eval_episodes", "--eval-episodes", "E"),
    ("train_timeout_s", "--train-timeout", "SECONDS"),
    ("seed", "--seed", "SEED"),
    ("halving", "--halving", None),
    ("executor", "--executor", None),
    ("ray_address", "--ray-address", "ADDR|auto"),
)


SPEC_HELP_SHORT = "openai:MODEL[@URL], ollama:MODEL[@URL], anthropic:MODEL, manual:DIR, scripted:FILE"


def field_type(name: str) -> type:
    """The value type of a SearchConfig field (`int | None` -> int)."""
    hint = typing.get_type_hints(SearchConfig)[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args else hint


def add_search_commands(subparsers: Any) -> None:
    fields = {f.name: f for f in dataclasses.fields(SearchConfig)}
    p = subparsers.add_parser(
        "search",
        help="search for a reward with the Eureka loop (LLM or the LLM-free proposer)",
        description="Propose reward programs, check and train them, reflect and select, for N iterations; "
        "then retrain the winner and the Sparse and Human baselines (and any --baseline specs) on fresh "
        "seeds and write report.html.",
    )
    p.add_argument("task", help=fields["task"].metadata["help"])
    for name, flag, metavar in OPTIONS:
        f = fields[name]
        choices = f.metadata.get("choices")
        repeated = isinstance(f.default, tuple)  # a tuple field: the option is repeatable
        if field_type(name) is bool:  # a switch: given turns it on, absent keeps SearchConfig's default
            p.add_argument(flag, dest=name, action="store_true", default=None, help=f.metadata["help"])
            continue
        shown = "" if f.default is None or repeated else f" (default {f.default})"
        p.add_argument(
            flag,
            dest=name,
            action="append" if repeated else "store",
            type=field_type(name),
            default=None,  # not given: SearchConfig's default applies
            choices=choices,
            metavar=None if choices else metavar,
            help=f.metadata["help"] + shown,
        )
    p.add_argument("--out", default="runs", help="parent folder of the run folder (default ./runs)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set any other SearchConfig field (repeatable), e.g. --set check=probe, --set batch_size=8",
    )
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument(
        "--no-llm-check",
        action="store_true",
        help="do not check that the LLM endpoint answers before the run starts (a server you start later)",
    )
    p.set_defaults(func=_search)

    r = subparsers.add_parser("resume", help="continue a killed search from its run folder")
    r.add_argument("run", help="the run folder (runs/<task>-<time>-<id>)")
    r.add_argument("--quiet", action="store_true", help="no progress line")
    r.add_argument(
        "--force",
        action="store_true",
        help="resume even if run.json says another live process is driving the run, or the task's file "
        "changed since the run started (the run then trains the changed environment)",
    )
    r.add_argument(
        "--no-llm-check", action="store_true", help="do not check that the LLM endpoint answers first"
    )
    r.add_argument(
        "--llm",
        default=None,
        metavar="SPEC",
        help="ask this LLM from now on instead of the run's (a server on another port, a renamed or "
        "retired model; a new key needs only its environment variable); checked like a new search's "
        "--llm, nothing is written if it fails. "
        "config.yaml then names it, so a later resume keeps it; events.jsonl records the old one "
        "(llm_changed). Replies cached for the old model are reused only under the same model name. "
        "Refused for a run of the LLM-free proposer (it cannot switch to an LLM mid-run). "
        "Spec: " + SPEC_HELP_SHORT,
    )
    for name, flag, metavar in OPTIONS:
        if name in ("executor", "ray_address"):  # where training runs: results do not depend on it
            f = fields[name]
            r.add_argument(flag, dest=name, default=None, choices=f.metadata.get("choices"),
                           metavar=None if f.metadata.get("choices") else metavar,
                           help=f.metadata["help"] + " Default: as the run started.")
    r.set_defaults(func=_resume)

    rep = subparsers.add_parser(
        "report", help="rebuild report.html and summary.json of a run from its folder"
    )
    rep.add_argument("run", help="the run folder")
    rep.set_defaults(func=_report)


def config_from_args(args: argparse.Namespace) -> SearchConfig:
    """The SearchConfig the command line asks for: the options given, then --set, over the defaults."""
    given = {name: getattr(args, name) for name, _, _ in OPTIONS if getattr(args, name) is not None}
    config = SearchConfig(task=args.task, **given)
    return apply_settings(config, args.set)


def apply_settings(config: SearchConfig, items: list[str]) -> SearchConfig:
    """`config` with `--set NAME=VALUE` items applied (values parsed to the field's type)."""
    from rewardlab.config import apply_overrides

    overrides: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set expects NAME=VALUE, got {item!r}")
        if name.strip() == "baselines":  # specs may hold commas: one option per spec
            raise ValueError("set baselines with --baseline SPEC, once per spec")
        overrides[name.strip()] = value
    optional = {}  # fields that are None now: apply_overrides parses by the current value's type
    for name in [n for n in overrides if hasattr(config, n) and getattr(config, n) is None]:
        optional[name] = _parse_optional(name, overrides.pop(name))
    return dataclasses.replace(apply_overrides(config, overrides), **optional)


def _parse_optional(name: str, raw: str) -> Any:
    text = raw.strip()
    if text.lower() in ("", "none", "null"):
        return None
    kind = field_type(name)
    try:
        return kind(text)
    except ValueError:
        raise ValueError(f"bad value for {name}: {raw!r} (expected {kind.__name__})") from None


def _search(args: argparse.Namespace) -> int:
    from rewardlab.api import search
    from rewardlab.search.progress import Progress

    config = config_from_args(args)  # ValueError: exit status 2, nothing created
    progress = Progress(config.iterations, config.restarts, enabled=not args.quiet)
    # everything the run depends on is checked before the run folder is created
    run_dir = search(
        config, args.out, command=list(sys.argv), progress=progress, check_llm=not args.no_llm_check
    )
    return _print_result(run_dir)


def _resume(args: argparse.Namespace) -> int:
    from rewardlab.api import resume
    from rewardlab.search.progress import Progress
    from rewardlab.search.runs import read_search_config
    from rewardlab.store import RunStore

    store = RunStore(args.run)
    if not store.layout.run.exists():
        raise ValueError(f"{args.run} is not a run folder (no run.json)")
    config = read_search_config(store)
    run_dir = resume(
        args.run,
        progress=Progress(config.iterations, config.restarts, enabled=not args.quiet),
        force=args.force,
        check_llm=not args.no_llm_check,
        where={k: getattr(args, k) for k in ("executor", "ray_address") if getattr(args, k) is not None},
        llm=args.llm,
    )
    return _print_result(run_dir)


def _report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rewardlab.api import report
    from rewardlab.runfolder import Layout

    if not Layout(Path(args.run)).config.exists():
        raise ValueError(f"{args.run} is not a run folder (no config.yaml)")
    print(report(args.run))
    return 0


def _print_result(run_dir: Any) -> int:
    """Print the final table; exit status 1 when no candidate trained or a final evaluation failed outright.

    Failures are shown with their message: a search whose every run failed for one reason (a broken
    install, an unwritable folder) must say why, not print a table of NaN.
    """
    import json

    from rewardlab.report.headline import headline
    from rewardlab.runfolder import Layout

    layout = Layout(run_dir)
    summary = json.loads(layout.summary.read_text(encoding="utf-8"))
    final = summary.get("final") or {}
    table = final.get("table", {})
    print(f"run folder: {run_dir}")
    for line in headline(final):
        print(line)
    failed_outright = any(row.get("failed") and row.get("n", 0) == 0 for row in table.values())
    candidates = [c for it in summary.get("iterations", []) for c in it.get("candidates", [])]
    trained = [c for c in candidates if c.get("status") == "ok"]
    if summary.get("iterations") and not trained:
        reasons = list(dict.fromkeys(f"{c['status']}: {c.get('message') or '?'}" for c in candidates))
        shown = "; ".join(" ".join(r.split())[:200] for r in reasons[:3])
        more = f" (and {len(reasons) - 3} other reasons)" if len(reasons) > 3 else ""
        print(
            f"rewardlab: no candidate trained successfully; the candidates failed with: {shown}{more}. "
            f"Every candidate's files are in {run_dir}",
            file=sys.stderr,
        )
    print(f"report: {layout.report}")
    return 1 if failed_outright or (summary.get("iterations") and not trained) else 0


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point (`python -m rewardlab.api.cli search ...`), as `rewardlab` wires it."""
    from rewardlab.api.errors import run_command

    parser = argparse.ArgumentParser(prog="rewardlab")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an error")
    add_search_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return run_command(args.command, args.func, args)


if __name__ == "__main__":
    sys.exit(main())
