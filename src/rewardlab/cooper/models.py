"""Builders for the tiny from-scratch Llama policy and reference-based reward model."""

from __future__ import annotations

import os

from rewardlab.cooper.config import CooperConfig


def setup_torch(threads: int) -> None:
    """Pin torch's thread count and keep everything offline (no hub on this project's machines)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    torch.set_num_threads(threads)


def _llama_config(tok, hidden: int, layers: int, heads: int, intermediate: int, **extra):
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(tok),
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=256,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        tie_word_embeddings=True,
        **extra,
    )


def build_policy(cfg: CooperConfig, tok, seed: int):
    """A randomly initialised ``LlamaForCausalLM`` of about ``12 * layers * hidden^2`` parameters."""
    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(seed)
    model = LlamaForCausalLM(
        _llama_config(tok, cfg.policy_hidden, cfg.policy_layers, cfg.policy_heads, cfg.policy_intermediate)
    )
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.bos_token_id = tok.bos_token_id
    return model


def build_rm(cfg: CooperConfig, tok, seed: int):
    """A randomly initialised ``LlamaForSequenceClassification`` with one logit (score = its sigmoid)."""
    import torch
    from transformers import LlamaForSequenceClassification

    torch.manual_seed(seed)
    return LlamaForSequenceClassification(
        _llama_config(tok, cfg.rm_hidden, cfg.rm_layers, cfg.rm_heads, cfg.rm_intermediate, num_labels=1)
    )


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())
