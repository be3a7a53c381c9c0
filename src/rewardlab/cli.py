"""The `rewardlab` command: thin subcommands over importable functions.

Heavy imports (JAX, torch) happen inside the handlers so that `rewardlab --help` answers at once. Every
subcommand runs through one error path (`rewardlab.api.errors.run_command`): a known error is one line,
`rewardlab COMMAND: ...`, with exit status 2 for bad input and 1 for a failed run; a traceback only with
`--debug` (before or after the command) or REWARDLAB_DEBUG=1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

EPILOG = """\
examples:
  rewardlab search CartPole-v1 --samples 8 --iterations 3
                                                    search rewards (LLM-free proposer; --llm SPEC for an LLM)
  rewardlab resume runs/CartPole-v1-...             continue a killed search where it stopped
  rewardlab report runs/CartPole-v1-...             rebuild report.html and summary.json from the folder
  rewardlab tasks                                   list the built-in tasks
  rewardlab tasks --show my_env.py:make_task        your own environment: what rewardlab sees of it
  rewardlab train CartPole-v1                       train with the task's human reward, 3 seeds
  rewardlab train MountainCar-v0 --reward human --reward sparse --seeds 2
  rewardlab train Pendulum-v1 --reward my_reward.py --set total_timesteps=300000
                                                    reward files train in the sandbox (--trusted: not)
  rewardlab train Ultimatum-v0 --reward judge:objective.txt --llm openai:MODEL@URL
                                                    an LLM judges each episode against the objective
  rewardlab check CartPole-v1 my_reward.py          check a reward file in the sandbox
  rewardlab llm ping openai:gpt-4o-mini             test that an LLM endpoint answers

A task is a built-in name, FILE.py:attr or package.module:attr (a Task or a function returning one,
see rewardlab.tasks.from_gymnax). A reward file defines
compute_reward(state, action, next_state) -> (total, {name: value}) written with jax.numpy;
see `rewardlab tasks --show TASK` for what the state holds.

Errors are one line and exit with 2 (bad input, nothing ran) or 1 (the run failed); --debug (or
REWARDLAB_DEBUG=1) adds the traceback.
"""


def main(argv: Sequence[str] | None = None) -> int:
    from rewardlab.api.errors import run_command

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return run_command(getattr(args, "command_name", "rewardlab"), args.func, args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rewardlab",
        description="LLM-designed rewards for reinforcement learning.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from rewardlab import __version__

    parser.add_argument("--version", action="version", version=f"rewardlab {__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_tasks(sub)
    from rewardlab.api.train import add_train_command

    add_train_command(sub)
    _add_optional(sub)
    _name_commands(sub, "")
    return parser


DEBUG_HELP = "print the Python traceback of an error (also: REWARDLAB_DEBUG=1)"


def _name_commands(sub: argparse._SubParsersAction, prefix: str) -> None:
    """Give every (sub)command its name for error lines and accept --debug after it too."""
    for name, parser in sub.choices.items():
        full = f"{prefix}{name}"
        parser.set_defaults(command_name=full)
        if not any("--debug" in a.option_strings for a in parser._actions):
            parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                _name_commands(action, f"{full} ")


def _add_optional(sub: argparse._SubParsersAction) -> None:
    """Subcommands that live with their subsystem; each module keeps its own imports lazy."""
    from rewardlab.api.cli import add_search_commands
    from rewardlab.llm.cli import add_llm_cli

    add_search_commands(sub)
    add_llm_cli(sub)
    try:
        from rewardlab.sandbox.cli import add_check_command
    except ImportError:
        pass
    else:
        add_check_command(sub)
    try:
        from rewardlab.cooper.cli import add_cooper_command
    except ImportError:
        pass
    else:
        add_cooper_command(sub)


# --- tasks --------------------------------------------------------------------------------------------


def _add_tasks(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tasks",
        help="list the registered tasks, or show one (yours too)",
        description="List the registered tasks (built in, and installed packages' `rewardlab.tasks` entry "
        "points), or show one in full. --show also accepts your own environment as FILE.py:attr or "
        "package.module:attr, and checks it (check_task) first.",
    )
    p.add_argument(
        "--show",
        metavar="TASK",
        help="print one task in full: description, state, action, fitness, rewards, budgets",
    )
    p.set_defaults(func=cmd_tasks)


def cmd_tasks(args: argparse.Namespace) -> int:
    from rewardlab import tasks
    from rewardlab.tasks.ref import resolve

    if args.show:
        task, ref = resolve(args.show)
        _show_task(task, ref)
        return 0
    rows = []
    for name in tasks.names():
        try:
            t = tasks.get(name)
        except Exception as exc:  # a broken installed entry point must not hide the others
            print(f"warning: task {name} could not be loaded: {exc}", file=sys.stderr)
            continue
        action = t.action_doc.split(":")[0]
        rows.append((name, action, t.practical_on, f"{t.search_budget:,}", t.fitness_doc))
    header = ("task", "action", "on", "search steps", "fitness")
    widths = [max(len(r[i]) for r in [*rows, header]) for i in range(4)]
    for r in [header, *rows]:
        print(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]:>{widths[3]}}  {r[4]}")
    print("\non: where a search on the task is practical; search steps: per candidate (--show for scores)")
    from rewardlab.tasks.gym_suite import CURATED, PREFIX

    curated = ", ".join(PREFIX + env_id for env_id in CURATED)
    print(
        f"Gymnasium environments train on the sb3 engine: {PREFIX}ENV_ID for any registered id "
        f"(curated: {curated}); see docs/engines.md"
    )
    return 0


def _show_task(task, ref) -> None:
    width = max([len(k) for k in task.state_doc] + [10])
    print(task.name + (f"  (from {ref.path or ref.module}, {ref.attr})" if ref.kind != "builtin" else ""))
    print(f"\n{task.description}\n")
    print(f"fitness: {task.fitness_doc}")
    print(f"action:  {task.action_doc}")
    print(f"episode: at most {task.env.max_episode_steps} steps; observation shape {task.env.obs_shape}")
    print("state fields:")
    for k, v in task.state_doc.items():
        print(f"  {k:{width}s} {v}")
    print(
        f"\nbudgets: {task.ppo.total_timesteps:,} steps per training run (train), "
        f"{task.search_budget:,} per candidate in a search (practical on {task.practical_on}); "
        f"engine {task.engine}"
    )
    scores = task.baseline_scores
    if scores is not None:
        print(
            f"measured at {scores.steps:,} steps, best-checkpoint fitness, mean of {scores.seeds} seeds: "
            f"human {scores.human:.3g}, sparse {scores.sparse:.3g} ({scores.source})"
        )
    print(f"\nhuman reward:\n{task.human.source.rstrip()}\n\nsparse reward:\n{task.sparse.source.rstrip()}")


if __name__ == "__main__":
    sys.exit(main())
