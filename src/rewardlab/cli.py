"""The `rewardlab` command: thin subcommands over importable functions.

Heavy imports (JAX, torch) happen inside the handlers so that `rewardlab --help` answers at once.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

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
  rewardlab check CartPole-v1 my_reward.py          check a reward file in the sandbox
  rewardlab llm ping openai:gpt-4o-mini             test that an LLM endpoint answers

A task is a built-in name, FILE.py:attr or package.module:attr (a Task or a function returning one,
see rewardlab.tasks.from_gymnax). A reward file defines
compute_reward(state, action, next_state) -> (total, {name: value}) written with jax.numpy;
see `rewardlab tasks --show TASK` for what the state holds.
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rewardlab",
        description="LLM-designed rewards for reinforcement learning.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from rewardlab import __version__

    parser.add_argument("--version", action="version", version=f"rewardlab {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_tasks(sub)
    _add_train(sub)
    _add_optional(sub)
    return parser


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
    from rewardlab.tasks.ref import TaskRefError, resolve

    if args.show:
        try:
            task, ref = resolve(args.show)
        except TaskRefError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
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
        f"{task.search_budget:,} per candidate in a search (practical on {task.practical_on})"
    )
    scores = task.baseline_scores
    if scores is not None:
        print(
            f"measured at {scores.steps:,} steps, best-checkpoint fitness, mean of {scores.seeds} seeds: "
            f"human {scores.human:.3g}, sparse {scores.sparse:.3g} ({scores.source})"
        )
    print(f"\nhuman reward:\n{task.human.source.rstrip()}\n\nsparse reward:\n{task.sparse.source.rstrip()}")


# --- train --------------------------------------------------------------------------------------------


def _add_train(sub: argparse._SubParsersAction) -> None:
    from rewardlab.config import PPOConfig, field_help

    settings = "\n".join(f"  {k:18s} {v}" for k, v in field_help(PPOConfig).items())
    p = sub.add_parser(
        "train",
        help="train PPO on a task with one or more rewards",
        description=(
            "Train PPO (JAX, CPU or GPU) on TASK with each reward and seed, all in one compiled program, "
            "and print each run's ground-truth fitness."
        ),
        epilog=f"settings for --set (defaults come from the task):\n{settings}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("task", help="task name (see `rewardlab tasks`), FILE.py:attr or package.module:attr")
    p.add_argument(
        "--reward",
        action="append",
        metavar="human|sparse|PATH.py",
        help="reward to train with; repeat to train several side by side (default: human)",
    )
    p.add_argument("--seeds", type=int, default=3, help="number of seeds per reward (default: 3)")
    p.add_argument("--seed-offset", type=int, default=0, help="first seed (default: 0)")
    p.add_argument(
        "--steps", type=int, help="environment steps per run (shortcut for --set total_timesteps=N)"
    )
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a PPO setting")
    p.add_argument("--json", metavar="PATH", help="also write every result (checkpoints included) as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    from rewardlab.config import apply_overrides
    from rewardlab.rewards.program import RewardProgramError
    from rewardlab.tasks.ref import TaskRefError, resolve

    try:
        task, _ = resolve(args.task)
    except TaskRefError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.seeds < 1:
        print("error: --seeds must be at least 1", file=sys.stderr)
        return 2
    try:
        overrides = dict(_split_setting(s) for s in args.set)
        if args.steps:
            overrides["total_timesteps"] = str(args.steps)
        cfg = apply_overrides(task.ppo, overrides)
        programs = [task.reward_program(s) for s in (args.reward or ["human"])]
    except (ValueError, RewardProgramError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    names = [p.name for p in programs]
    if len(set(names)) != len(names):
        print("error: two rewards have the same name; rename one of the files", file=sys.stderr)
        return 2

    from rewardlab.engines import ppo_jax

    seeds = list(range(args.seed_offset, args.seed_offset + args.seeds))
    n_runs = len(programs) * len(seeds)
    print(
        f"{task.name}: {len(programs)} reward(s) x {len(seeds)} seed(s), "
        f"{cfg.num_updates * cfg.batch_size:,} steps per run (compiling first)",
        file=sys.stderr,
    )
    bar = _Bar(n_runs, cfg.num_updates * cfg.batch_size, disable=args.no_progress)
    t0 = time.perf_counter()
    try:
        results = ppo_jax.train(task, programs, cfg, seeds, progress=bar.update)
    except RewardProgramError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        bar.close()
    wall = time.perf_counter() - t0
    _print_results(task, results, wall)
    if args.json:
        Path(args.json).write_text(json.dumps([r.to_dict() for r in results], indent=1), encoding="utf-8")
        print(f"results written to {args.json}", file=sys.stderr)
    return 0 if all(r.ok for r in results) else 1


def _split_setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"--set expects NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


class _Bar:
    """tqdm over total environment steps of all runs, fed by the engine's progress callback.

    The bar opens at the first report, i.e. after compilation, so its rate is the training rate.
    """

    def __init__(self, n_runs: int, steps_per_run: int, disable: bool) -> None:
        self.n_runs, self.total, self.disable = n_runs, n_runs * steps_per_run, disable
        self.bar = None
        self.last = 0

    def update(self, info) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=self.total,
                unit="step",
                unit_scale=True,
                disable=self.disable,
                file=sys.stderr,
                desc="training",
                mininterval=0.5,
            )
        done = info.env_steps * self.n_runs
        self.bar.update(done - self.last)
        self.last = done
        if info.best_fitness is not None:
            self.bar.set_postfix(best_fitness=f"{info.best_fitness:.3g}", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _print_results(task, results, wall: float) -> None:
    print(f"\n{task.name} — fitness: {task.fitness_doc}")
    header = f"{'reward':<28} {'seed':>4} {'final':>9} {'best':>9} {'env return':>11}  status"
    print(header)
    print("-" * len(header))
    by_reward: dict[str, list] = {}
    for r in results:
        by_reward.setdefault(r.candidate, []).append(r)
        env_ret = (
            r.checkpoints[-1].eval_metrics.get("env_return", float("nan")) if r.checkpoints else float("nan")
        )
        status = r.status if r.ok else f"{r.status}: {r.message}"
        print(
            f"{r.candidate:<28} {r.seed:>4} {r.final_fitness:>9.4g} {r.max_fitness:>9.4g} "
            f"{env_ret:>11.4g}  {status}"
        )
    print("-" * len(header))
    for name, rs in by_reward.items():
        finals = [r.final_fitness for r in rs if r.checkpoints]
        med = statistics.median(finals) if finals else float("nan")
        print(f"{name:<28} {'med':>4} {med:>9.4g}")
    first = results[0]
    print(
        f"\nwall {wall:.1f} s (compile {first.compile_seconds:.1f} s, training {first.train_seconds:.1f} s "
        f"for {len(results)} run(s) in one batch)"
    )


if __name__ == "__main__":
    sys.exit(main())
