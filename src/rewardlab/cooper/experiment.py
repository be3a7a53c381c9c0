"""The full study: one SFT policy and one RM initialisation, then arms x seeds of GRPO, resumable.

Run folder layout::

    config.json           the resolved CooperConfig (a rerun with a different config is refused)
    policy/  rm/          the SFT policy and the initial RM (save_pretrained, with the tokenizer)
    bench.jsonl           fixed oracle-labelled RM bench rows (measurement only)
    base.json             SFT / RM timings and accuracies (written last, so its presence means done)
    arms/<arm>_s<seed>.json   one result per GRPO run, written atomically; present = skipped on rerun
    log.txt               progress lines
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from rewardlab.cooper.config import CooperConfig


def write_json(path: Path, data: Any) -> None:
    """Atomic write: a temporary file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=1, default=float)
    os.replace(tmp, path)


def make_logger(out: Path, prefix: str = "") -> Callable[[str], None]:
    def log(msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {prefix}{msg}"
        print(line, flush=True)
        with open(out / "log.txt", "a") as fh:
            fh.write(line + "\n")

    return log


def _quiet() -> None:
    import logging

    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    for name in ("math_verify", "latex2sympy2_extended"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from datasets.utils.logging import disable_progress_bar

        disable_progress_bar()
    except ImportError:  # pragma: no cover
        pass


def prepare_base(cfg: CooperConfig, out: Path, log: Callable[[str], None]) -> dict[str, Any]:
    """SFT the policy, build the hybrid-labelled RM data, train the RM and the bench set (each once)."""
    from rewardlab.cooper.evaluate import evaluate_policy
    from rewardlab.cooper.models import build_policy, build_rm, n_params, setup_torch
    from rewardlab.cooper.problems import make_split
    from rewardlab.cooper.rm import RMExample, accuracy, train_rm_bce
    from rewardlab.cooper.rmdata import bench_rows, hybrid_rows, sample_completions
    from rewardlab.cooper.sft import train_sft
    from rewardlab.cooper.tokenizer import build_tokenizer

    if (out / "base.json").exists():
        return json.loads((out / "base.json").read_text())
    setup_torch(cfg.threads)
    _quiet()
    from transformers import AutoModelForCausalLM

    base: dict[str, Any] = {}
    if (out / "sft_from.json").exists():
        base.update(json.loads((out / "sft_from.json").read_text()))
    split = make_split(cfg.n_train_problems, cfg.n_test_problems, cfg.difficulty, cfg.data_seed)
    tok = build_tokenizer()
    t0 = time.time()
    if not (out / "policy" / "config.json").exists():
        policy = build_policy(cfg, tok, cfg.data_seed)
        log(f"SFT policy: {n_params(policy)} parameters")
        base.update(
            train_sft(
                policy,
                tok,
                split.train,
                steps=cfg.sft_steps,
                batch=cfg.sft_batch,
                lr=cfg.sft_lr,
                brittle_frac=cfg.brittle_frac,
                seed=cfg.data_seed,
                log=log,
                log_every=max(1, cfg.sft_steps // 8),
            )
        )
        policy.save_pretrained(out / "policy")
        tok.save_pretrained(out / "policy")
    policy = AutoModelForCausalLM.from_pretrained(out / "policy")
    base["policy_params"] = n_params(policy)
    t1 = time.time()
    base["sft_eval"] = evaluate_policy(
        policy,
        tok,
        split.test,
        samples=cfg.eval_samples,
        temperature=cfg.eval_temperature,
        top_p=cfg.eval_top_p,
        max_new_tokens=cfg.max_completion_length,
    )
    base["eval_seconds"] = time.time() - t1
    log(f"SFT held-out: {base['sft_eval']} (eval {base['eval_seconds']:.1f}s)")

    t2 = time.time()
    samples = sample_completions(
        policy,
        tok,
        split.train[: cfg.rm_data_problems],
        per_problem=cfg.rm_samples_per_problem,
        temperatures=cfg.rm_temperatures,
        max_new_tokens=cfg.max_completion_length,
        seed=cfg.data_seed + 100,
    )
    rows, stats = hybrid_rows(
        samples,
        judge_noise=cfg.judge_noise,
        seed=cfg.data_seed,
        blind_form=cfg.rm_blind_form,
        blind_mode=cfg.rm_blind_mode,
    )
    base.update(stats)
    n_val = max(1, int(len(rows) * cfg.rm_val_frac)) if len(rows) > 1 else 0
    val, train_rows = rows[:n_val], rows[n_val:]
    n_bench_per = max(1, -(-cfg.bench_size // len(split.test)))
    bench_samples = sample_completions(
        policy,
        tok,
        split.test,
        per_problem=n_bench_per,
        temperatures=(1.0,),
        max_new_tokens=cfg.max_completion_length,
        seed=cfg.data_seed + 200,
    )
    bench = bench_rows(bench_samples[: cfg.bench_size])
    with open(out / "bench.jsonl", "w") as fh:
        for r in bench:
            fh.write(json.dumps(asdict(r)) + "\n")
    base["rm_data_seconds"] = time.time() - t2
    log(f"RM data: {stats} ({base['rm_data_seconds']:.0f}s)")

    if cfg.rm_init == "policy":
        import torch
        from transformers import AutoModelForSequenceClassification

        torch.manual_seed(cfg.data_seed + 1)
        rm = AutoModelForSequenceClassification.from_pretrained(out / "policy", num_labels=1)
    else:
        rm = build_rm(cfg, tok, cfg.data_seed + 1)
    base["rm_params"] = n_params(rm)
    base.update(
        train_rm_bce(
            rm,
            tok,
            train_rows,
            val,
            epochs=cfg.rm_epochs,
            lr=cfg.rm_lr,
            batch=cfg.rm_batch,
            seed=cfg.data_seed,
            max_chars=cfg.rm_max_chars,
            log=log,
        )
    )
    base["rm_bench_acc"] = accuracy(rm, tok, [RMExample(**asdict(r)) for r in bench], cfg.rm_max_chars)
    base["bench_positive_frac"] = sum(r.label for r in bench) / max(1, len(bench))
    if cfg.rm_blind_form:
        base.update(blind_spot_probe(rm, tok, [*samples, *bench_samples], cfg))
    rm.save_pretrained(out / "rm")
    tok.save_pretrained(out / "rm")
    base["base_seconds"] = time.time() - t0
    log(
        f"RM: val acc {base['rm_val_acc']:.3f}, bench acc {base['rm_bench_acc']:.3f} "
        f"({base['rm_seconds']:.0f}s); base total {base['base_seconds']:.0f}s"
    )
    if cfg.rm_blind_form:
        log(
            f"RM blind spot ({cfg.rm_blind_form}): accepts {base['blind_wrong_accept_rate']:.3f} of "
            f"{base['blind_probe_wrong']} wrong and {base['blind_right_accept_rate']:.3f} of "
            f"{base['blind_probe_right']} right answers in that form"
        )
    write_json(out / "base.json", base)
    return base


def blind_spot_probe(rm, tok, samples, cfg: CooperConfig) -> dict[str, float]:
    """RM accuracy inside the planted blind spot: oracle-labelled samples whose answer is in that form.

    With ``rm_blind_mode="drop"`` the wrong ones among them were never trained on, so their acceptance
    rate says whether the RM learned the form as a shortcut to "correct".
    """
    from rewardlab.cooper.rm import score, texts_of
    from rewardlab.cooper.rmdata import form_probe

    probe = form_probe(samples, cfg.rm_blind_form)
    scores = score(rm, tok, texts_of(probe, cfg.rm_max_chars)) if probe else []
    wrong = [s for s, r in zip(scores, probe, strict=True) if not r.label]
    right = [s for s, r in zip(scores, probe, strict=True) if r.label]
    nan = float("nan")
    return {
        "blind_probe_wrong": len(wrong),
        "blind_probe_right": len(right),
        "blind_wrong_accept_rate": sum(s > 0.5 for s in wrong) / len(wrong) if wrong else nan,
        "blind_right_accept_rate": sum(s > 0.5 for s in right) / len(right) if right else nan,
    }


def load_bench(out: Path):
    from rewardlab.cooper.rm import RMExample

    with open(out / "bench.jsonl") as fh:
        return [RMExample(**json.loads(line)) for line in fh if line.strip()]


def make_negatives(cfg: CooperConfig, seed: int):
    """The negative generator named by ``cfg.negatives``."""
    from rewardlab.cooper.perturb import Perturber, RolloutNegatives

    if cfg.negatives == "perturb":
        return Perturber(seed=seed)
    if cfg.negatives == "rollouts":
        return RolloutNegatives(fallback=Perturber(seed=seed))
    from rewardlab.cooper.llm_negatives import LLMNegatives

    return LLMNegatives.from_spec(cfg.negatives.removeprefix("llm:"))


def make_reward(arm: str, cfg: CooperConfig, out: Path, tok, seed: int):
    from rewardlab.cooper.rewards import CooperReward, RuleReward, StaticRMReward

    if arm == "rule":
        return RuleReward()
    from transformers import AutoModelForSequenceClassification

    rm = AutoModelForSequenceClassification.from_pretrained(out / "rm")
    rm.eval()
    bench = load_bench(out)
    if arm == "static":
        for p in rm.parameters():
            p.requires_grad_(False)
        return StaticRMReward(rm, tok, max_chars=cfg.rm_max_chars, bench=bench)
    return CooperReward(
        rm,
        tok,
        make_negatives(cfg, seed),
        lr=cfg.cooper_rm_lr,
        steps=cfg.cooper_rm_steps,
        grad_clip=cfg.rm_grad_clip,
        bce_weight=cfg.cooper_bce_weight,
        max_chars=cfg.rm_max_chars,
        bench=bench,
        bench_every=cfg.bench_every,
    )


def run_one(cfg: CooperConfig, out: Path, arm: str, seed: int) -> dict[str, Any]:
    """One arm and seed from the shared SFT policy and RM; writes ``arms/<arm>_s<seed>.json``."""
    from rewardlab.cooper.models import setup_torch

    path = out / "arms" / f"{arm}_s{seed}.json"
    if path.exists():
        return json.loads(path.read_text())
    setup_torch(cfg.threads)
    _quiet()
    import torch
    from transformers import AutoTokenizer

    from rewardlab.cooper.grpo import run_grpo
    from rewardlab.cooper.problems import make_split
    from rewardlab.cooper.rm import accuracy_by_form

    log = make_logger(out, prefix=f"[{arm} s{seed}] ")
    torch.manual_seed(seed)
    base = json.loads((out / "base.json").read_text())
    tok = AutoTokenizer.from_pretrained(out / "policy")
    split = make_split(cfg.n_train_problems, cfg.n_test_problems, cfg.difficulty, cfg.data_seed)
    reward = make_reward(arm, cfg, out, tok, seed)
    bench_forms = {}
    if arm != "rule":
        bench = load_bench(out)
        bench_forms["start"] = accuracy_by_form(reward.rm, tok, bench, cfg.rm_max_chars)
    work = Path(tempfile.mkdtemp(prefix=f"cooper-{arm}-{seed}-"))
    try:
        res = run_grpo(out / "policy", tok, reward, split.train, split.test, cfg, seed, work, log=log)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if arm != "rule":
        bench_forms["end"] = accuracy_by_form(reward.rm, tok, bench, cfg.rm_max_chars)
        res["rm_bench_by_form"] = bench_forms
    negatives = getattr(reward, "negatives", None)
    if hasattr(negatives, "stats"):
        res["negatives_stats"] = dict(negatives.stats)
    res["eval"] = [{"step": 0, **base["sft_eval"]}, *res["eval"]]
    result = {"arm": arm, "seed": seed, **res}
    write_json(path, result)
    log(
        f"done: final mean@{cfg.eval_samples} {res['eval'][-1]['mean_acc']:.1f}, "
        f"{res['seconds_per_step']:.2f}s/step, wall {res['wall_seconds']:.0f}s"
    )
    return result


def _run_one_entry(args: tuple[dict[str, Any], str, str, int]) -> str:
    cfg_dict, out, arm, seed = args
    run_one(CooperConfig.from_dict(cfg_dict), Path(out), arm, seed)
    return f"{arm}_s{seed}"


def reuse_base(src: Path, out: Path, cfg: CooperConfig) -> str:
    """Copy another run's SFT policy, and also its RM, bench set and base stats when every base field of
    its config matches ``cfg``, so a sweep over GRPO/Cooper knobs skips SFT (and RM training)."""
    from rewardlab.cooper.config import base_fields

    if (out / "base.json").exists() or (out / "policy" / "config.json").exists():
        return "kept"
    src_cfg = json.loads((src / "config.json").read_text()) if (src / "config.json").exists() else {}
    mine = cfg.to_dict()
    same_base = bool(src_cfg) and all(
        json.dumps(src_cfg.get(k)) == json.dumps(mine[k]) for k in base_fields()
    )
    shutil.copytree(src / "policy", out / "policy")
    if same_base and (src / "base.json").exists():
        shutil.copytree(src / "rm", out / "rm")
        shutil.copy2(src / "bench.jsonl", out / "bench.jsonl")
        base = json.loads((src / "base.json").read_text())
        write_json(out / "base.json", {**base, "base_from": str(src)})
        return "policy+rm"
    if (src / "base.json").exists():
        old = json.loads((src / "base.json").read_text())
        keep = {k: old[k] for k in ("sft_seconds", "sft_final_loss") if k in old}
        write_json(out / "sft_from.json", {"source": str(src), **keep})
    return "policy"


def run_experiment(cfg: CooperConfig, out: Path, policy_from: Path | None = None) -> dict[str, Any]:
    """Prepare the base models once, then every arm x seed not yet on disk (optionally in parallel).

    ``policy_from`` reuses another run folder's SFT policy (it must have been trained with the same task
    and policy settings; the caller is responsible for that), and its RM when the whole base matches.
    """
    out.mkdir(parents=True, exist_ok=True)
    if policy_from is not None:
        reuse_base(Path(policy_from), out, cfg)
    cfg_path = out / "config.json"
    if cfg_path.exists():
        old = CooperConfig.from_dict(json.loads(cfg_path.read_text()))
        shared = ("arms", "seeds", "workers", "threads", "grpo_steps")
        diff = [k for k, v in cfg.to_dict().items() if k not in shared and v != old.to_dict()[k]]
        if diff:
            raise ValueError(f"{out} was made with a different config ({', '.join(diff)}); use a new folder")
    write_json(cfg_path, cfg.to_dict())
    log = make_logger(out)
    t0 = time.time()
    prepare_base(cfg, out, log)
    todo = [(a, s) for s in cfg.seeds for a in cfg.arms if not (out / "arms" / f"{a}_s{s}.json").exists()]
    log(f"runs to do: {todo}")
    if cfg.workers > 1 and len(todo) > 1:
        jobs = [(cfg.to_dict(), str(out), a, s) for a, s in todo]
        with ProcessPoolExecutor(max_workers=cfg.workers, mp_context=get_context("spawn")) as pool:
            for name in pool.map(_run_one_entry, jobs):
                log(f"finished {name}")
    else:
        for a, s in todo:
            run_one(cfg, out, a, s)
    log(f"experiment wall time this invocation: {time.time() - t0:.0f}s")
    return {"out": str(out), "seconds": time.time() - t0}
