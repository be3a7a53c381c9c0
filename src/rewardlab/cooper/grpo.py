"""GRPO wiring on TRL's ``GRPOTrainer`` for one arm and seed, with a held-out evaluation callback.

One GRPO step = ``prompts_per_step`` prompts x ``num_generations`` rollouts, one policy optimizer step
(``steps_per_generation=1``), KL to the SFT policy with coefficient ``beta``. The policy is passed as a
directory because TRL rebuilds the frozen reference model from ``config._name_or_path`` when beta > 0.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rewardlab.cooper.config import CooperConfig
from rewardlab.cooper.evaluate import evaluate_policy
from rewardlab.cooper.problems import Problem

_TRL_KEYS = (
    "kl",
    "entropy",
    "loss",
    "reward",
    "reward_std",
    "completions/mean_length",
    "frac_reward_zero_std",
)


def prompt_dataset(problems: Sequence[Problem], n: int, seed: int):
    """A ``datasets.Dataset`` of ``n`` prompts drawn (seeded) from ``problems``: columns prompt, answer."""
    from datasets import Dataset

    rng = random.Random(seed)
    picks = [problems[rng.randrange(len(problems))] for _ in range(n)]
    return Dataset.from_dict({"prompt": [p.prompt for p in picks], "answer": [p.reference for p in picks]})


def grpo_args(cfg: CooperConfig, out_dir: Path, seed: int, steps: int):
    import warnings

    from trl import GRPOConfig

    with warnings.catch_warnings():  # TRL's own field is the deprecated `gradient_checkpointing` alias
        warnings.simplefilter("ignore", FutureWarning)
        return _grpo_config(GRPOConfig, cfg, out_dir, seed, steps)


def _grpo_config(GRPOConfig, cfg: CooperConfig, out_dir: Path, seed: int, steps: int):
    return GRPOConfig(
        output_dir=str(out_dir),
        per_device_train_batch_size=cfg.prompts_per_step * cfg.num_generations,
        gradient_accumulation_steps=1,
        num_generations=cfg.num_generations,
        steps_per_generation=1,
        num_iterations=1,
        max_completion_length=cfg.max_completion_length,
        temperature=cfg.temperature,
        top_p=1.0,
        beta=cfg.beta,
        loss_type=cfg.loss_type,
        learning_rate=cfg.policy_lr,
        lr_scheduler_type="constant",
        warmup_steps=0,
        max_steps=steps,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        bf16=False,
        fp16=False,
        gradient_checkpointing=False,
        disable_tqdm=True,
        dataloader_num_workers=0,
        seed=seed,
        data_seed=seed,
        shuffle_dataset=True,
        scale_rewards="group",
        log_completions=False,
    )


def _eval_callback(
    tok,
    problems: Sequence[Problem],
    cfg: CooperConfig,
    curve: list[dict[str, Any]],
    timing: dict[str, float],
    log: Callable[[str], None],
):
    from transformers import TrainerCallback

    class EvalCallback(TrainerCallback):
        """Held-out accuracy every ``eval_every`` steps and at the end; times steps apart from evals."""

        def on_step_begin(self, args, state, control, **kw):
            timing["step_start"] = time.time()

        def on_step_end(self, args, state, control, model=None, **kw):
            timing["train_seconds"] += time.time() - timing["step_start"]
            step = state.global_step
            if step % cfg.eval_every == 0 or step == state.max_steps:
                t0 = time.time()
                res = evaluate_policy(
                    model,
                    tok,
                    problems,
                    samples=cfg.eval_samples,
                    temperature=cfg.eval_temperature,
                    top_p=cfg.eval_top_p,
                    max_new_tokens=cfg.max_completion_length,
                )
                timing["eval_seconds"] += time.time() - t0
                curve.append({"step": step, **res})
                log(
                    f"step {step}: held-out mean@{cfg.eval_samples} {res['mean_acc']:.1f} greedy "
                    f"{res['greedy_acc']:.1f} ({timing['train_seconds'] / step:.2f}s/step)"
                )

    return EvalCallback()


def run_grpo(
    policy_dir: Path,
    tok,
    reward,
    train_problems: Sequence[Problem],
    eval_problems: Sequence[Problem],
    cfg: CooperConfig,
    seed: int,
    work_dir: Path,
    *,
    steps: int | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train one arm for ``steps`` GRPO steps; returns eval curve, per-step reward records and TRL logs."""
    from transformers import AutoModelForCausalLM, PrinterCallback
    from trl import GRPOTrainer

    steps = steps or cfg.grpo_steps
    policy = AutoModelForCausalLM.from_pretrained(str(policy_dir))
    dataset = prompt_dataset(train_problems, steps * cfg.prompts_per_step, seed)
    curve: list[dict[str, Any]] = []
    timing = {"train_seconds": 0.0, "eval_seconds": 0.0, "step_start": 0.0}
    trainer = GRPOTrainer(
        model=policy,
        reward_funcs=[reward],
        args=grpo_args(cfg, work_dir, seed, steps),
        train_dataset=dataset,
        processing_class=tok,
        callbacks=[_eval_callback(tok, eval_problems, cfg, curve, timing, log)],
    )
    trainer.remove_callback(PrinterCallback)
    t0, c0 = time.time(), time.process_time()
    trainer.train()
    wall, cpu = time.time() - t0, time.process_time() - c0
    trl_log = [
        {k: e[k] for k in ("step", *_TRL_KEYS) if k in e}
        for e in trainer.state.log_history
        if "step" in e and "kl" in e
    ]
    return {
        "eval": curve,
        "steps": list(reward.history),
        "trl": trl_log,
        "wall_seconds": wall,
        "cpu_seconds": cpu,  # this process's CPU time: the wall time to expect on an idle core (1 thread)
        "train_seconds": timing["train_seconds"],
        "eval_seconds": timing["eval_seconds"],
        "seconds_per_step": timing["train_seconds"] / max(1, steps),
    }
