"""VLM-RM throughput on this machine: frames/s for rendering alone and for rendering + CLIP encoding.

    nice -n 10 python benchmarks/vlm.py [--batches 32 128] [--reps 5] [--threads N] [--skip-b32]

Side by side in one process: the engine's environment step (CartPole-v1, gymnax, jitted and vmapped
over the same batch) as the baseline; the jitted CartPole rasteriser at 224 x 224; `VLMReward` (render +
encode + reward) with a tiny random-initialised CLIP and with a ViT-B/32-sized one (`CLIPConfig()`'s
defaults are openai/clip-vit-base-patch32's shapes; random weights, so this measures cost only, never
reward quality). Prints medians over `--reps` repetitions after one warm-up, and each cost as a ratio to
one environment step.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import jax
import numpy as np

from rewardlab.rewards.clip_encoder import CLIPEncoder
from rewardlab.rewards.host import Segment
from rewardlab.rewards.vlm import VLMReward
from rewardlab.tasks import registry, render

GOAL, BASELINE = "a pole balanced upright on a cart", "a pole on a cart"
_TEXT_IDS = dict(bos_token_id=0, eos_token_id=1, pad_token_id=1)  # the byte-level tokenizer's ids


def _configs(skip_b32: bool):
    from transformers import CLIPConfig

    tiny = CLIPConfig(
        text_config=dict(vocab_size=515, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=32, **_TEXT_IDS),
        vision_config=dict(image_size=224, patch_size=32, hidden_size=48, intermediate_size=96,
                           num_hidden_layers=2, num_attention_heads=2),
        projection_dim=16,
    )
    out = {"tiny CLIP (2 layers, width 48)": tiny}
    if not skip_b32:
        out["ViT-B/32-sized CLIP (random)"] = CLIPConfig(text_config=dict(**_TEXT_IDS))
    return out


def _median_seconds(fn, reps: int) -> float:
    fn()  # warm-up: compilation, allocator
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _cartpole_batch(batch: int):
    env = registry.get("CartPole-v1").env
    keys = jax.random.split(jax.random.PRNGKey(0), batch)
    _, state = jax.vmap(env.reset)(keys)
    action = jax.numpy.arange(batch) % 2
    step = jax.jit(jax.vmap(env.step))
    return env, keys, state, action, step


def _measure(batch: int, encoders: dict, reps: int) -> list[tuple[int, str, float]]:
    """(batch, what, median seconds per batch) for the env step, rendering, and each encoder."""
    _, keys, state, action, step = _cartpole_batch(batch)
    frames_fn = jax.jit(jax.vmap(render.cartpole))
    rows = [
        (batch, "env step (CartPole, gymnax)",
         _median_seconds(lambda: jax.block_until_ready(step(keys, state, action)), reps)),
        (batch, "render 224x224", _median_seconds(lambda: jax.block_until_ready(frames_fn(state)), reps)),
    ]
    host_state = jax.tree_util.tree_map(np.asarray, state)
    segment = Segment(states=host_state, actions=np.asarray(action), next_states=host_state,
                      done=np.zeros(batch, bool), env_reward=np.ones(batch, np.float32))
    for name, encoder in encoders.items():
        encoder.batch_size = batch
        source = VLMReward(render.cartpole, encoder, GOAL, BASELINE, alpha=0.5, batch_size=batch)
        n = reps if "tiny" in name else max(2, reps // 2)
        rows.append((batch, f"render + encode, {name}", _median_seconds(lambda s=source: s(segment), n)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--skip-b32", action="store_true", help="only the tiny model")
    args = parser.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, jax {jax.__version__} "
          f"on {jax.default_backend()}, load {os.getloadavg()[0]:.1f}")
    configs = _configs(args.skip_b32)
    encoders = {name: CLIPEncoder.from_config(cfg, device="cpu") for name, cfg in configs.items()}
    rows = [row for batch in args.batches for row in _measure(batch, encoders, args.reps)]
    print(f"\n{'batch':>5}  {'what':<48} {'s/batch':>9} {'frames/s':>10} {'x env step':>11}")
    env_by_batch = {b: s for b, what, s in rows if what.startswith("env step")}
    for batch, what, seconds in rows:
        ratio = seconds / env_by_batch[batch]
        print(f"{batch:>5}  {what:<48} {seconds:>9.4f} {batch / seconds:>10.1f} {ratio:>11.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
