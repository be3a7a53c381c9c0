"""Supervised fine-tuning of the tiny policy from scratch on worked solutions (loss on solution tokens)."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence

from rewardlab.cooper.problems import Problem, sft_target


def sft_batch(tok, prompts: Sequence[str], targets: Sequence[str]):
    """Right-padded ``input_ids``/``attention_mask``/``labels``; BOS and prompt positions masked (-100)."""
    import torch

    rows, masks = [], []
    for p, t in zip(prompts, targets, strict=True):
        p_ids = tok(p)["input_ids"]
        t_ids = tok(t, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        rows.append(p_ids + t_ids)
        masks.append(len(p_ids))
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), tok.pad_token_id, dtype=torch.long)
    att = torch.zeros_like(ids)
    labels = torch.full_like(ids, -100)
    for i, (r, m) in enumerate(zip(rows, masks, strict=True)):
        ids[i, : len(r)] = torch.tensor(r)
        att[i, : len(r)] = 1
        labels[i, m : len(r)] = ids[i, m : len(r)]
    return {"input_ids": ids, "attention_mask": att, "labels": labels}


def train_sft(
    model,
    tok,
    problems: Sequence[Problem],
    *,
    steps: int,
    batch: int,
    lr: float,
    brittle_frac: float,
    seed: int,
    log: Callable[[str], None] = print,
    log_every: int = 100,
) -> dict[str, float]:
    """AdamW with a one-cycle schedule; returns wall time and final loss."""
    import torch

    rng = random.Random(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, betas=(0.9, 0.98))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    model.train()
    t0 = time.time()
    ema = math.nan
    for step in range(1, steps + 1):
        picks = [problems[rng.randrange(len(problems))] for _ in range(batch)]
        b = sft_batch(tok, [p.prompt for p in picks], [sft_target(p, rng, brittle_frac) for p in picks])
        loss = model(**b).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        ema = loss.item() if math.isnan(ema) else 0.95 * ema + 0.05 * loss.item()
        if step % log_every == 0 or step == steps:
            log(f"sft step {step}/{steps} loss {ema:.4f} ({time.time() - t0:.0f}s)")
    model.eval()
    return {"sft_seconds": time.time() - t0, "sft_final_loss": ema}
