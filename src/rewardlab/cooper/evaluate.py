"""Held-out evaluation with the paper's protocol: T 0.7, top-p 0.95, 8 samples, mean accuracy; plus greedy.

Correctness here is the oracle's (exact value, any answer form): this module measures, it never trains.
"""

from __future__ import annotations

from collections.abc import Sequence

from rewardlab.cooper.problems import Problem
from rewardlab.cooper.verify import oracle_correct, rule_verdict


def generate(
    model,
    tok,
    prompts: Sequence[str],
    *,
    n: int = 1,
    greedy: bool = False,
    temperature: float = 1.0,
    top_p: float = 1.0,
    max_new_tokens: int = 32,
    batch_size: int = 512,
    seed: int | None = None,
) -> list[list[str]]:
    """``n`` completions per prompt (decoded, specials stripped), batched with left padding.

    With ``seed`` the sampling is reproducible and the global torch RNG is left untouched.
    """
    import torch

    flat = [p for p in prompts for _ in range(n)]
    out: list[str] = []
    was_training = model.training
    model.eval()
    with torch.random.fork_rng(devices=[]), torch.inference_mode():
        if seed is not None:
            torch.manual_seed(seed)
        for i in range(0, len(flat), batch_size):
            chunk = flat[i : i + batch_size]
            enc = tok(chunk, return_tensors="pt", padding=True, padding_side="left")
            kwargs = dict(
                max_new_tokens=max_new_tokens, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id
            )
            if greedy:
                kwargs.update(do_sample=False)
            else:
                kwargs.update(do_sample=True, temperature=temperature, top_p=top_p, top_k=0)
            ids = model.generate(**enc, **kwargs)
            out.extend(tok.batch_decode(ids[:, enc["input_ids"].shape[1] :], skip_special_tokens=True))
    if was_training:
        model.train()
    return [out[j * n : (j + 1) * n] for j in range(len(prompts))]


def evaluate_policy(
    model,
    tok,
    problems: Sequence[Problem],
    *,
    samples: int = 8,
    temperature: float = 0.7,
    top_p: float = 0.95,
    max_new_tokens: int = 32,
    seed: int = 1234,
) -> dict[str, float]:
    """Mean oracle accuracy over ``samples`` sampled completions, greedy accuracy, the strict-rule view."""
    prompts = [p.prompt for p in problems]
    sampled = generate(
        model,
        tok,
        prompts,
        n=samples,
        temperature=temperature,
        top_p=top_p,
        max_new_tokens=max_new_tokens,
        seed=seed,
    )
    greedy = generate(model, tok, prompts, n=1, greedy=True, max_new_tokens=max_new_tokens)
    n_s = sum(len(s) for s in sampled)
    acc = sum(oracle_correct(c, p.answer) for p, cs in zip(problems, sampled, strict=True) for c in cs)
    rule = sum(bool(rule_verdict(c, p.answer)) for p, cs in zip(problems, sampled, strict=True) for c in cs)
    g_acc = sum(oracle_correct(cs[0], p.answer) for p, cs in zip(problems, greedy, strict=True))
    return {
        "mean_acc": 100.0 * acc / n_s,
        "greedy_acc": 100.0 * g_acc / len(problems),
        "rule_acc": 100.0 * rule / n_s,
        "mean_len": sum(len(c) for cs in sampled for c in cs) / n_s,
    }
