"""A character-level tokenizer built locally (no hub), shared by the tiny policy and the tiny RM.

Every printable ASCII character is one token, so any text the policy, the perturber or an assistant
LLM writes can be encoded. A BOS token is prepended by the post-processor (TRL tokenises plain-text
prompts with ``add_special_tokens=True``, so training, evaluation and GRPO all see the same ids); the
decoder fuses characters back without spaces.
"""

from __future__ import annotations

import string

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIAL_TOKENS = (PAD, BOS, EOS, UNK)
CHARS = "".join(ch for ch in string.printable if ch not in "\t\r\x0b\x0c")


def build_tokenizer():
    """Return a ``PreTrainedTokenizerFast`` over single characters (ids: specials first, then CHARS)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for ch in CHARS:
        vocab.setdefault(ch, len(vocab))
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    core.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    core.decoder = decoders.Fuse()
    core.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A $B", special_tokens=[(BOS, vocab[BOS])]
    )
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token=PAD,
        bos_token=BOS,
        eos_token=EOS,
        unk_token=UNK,
        padding_side="left",
        truncation_side="left",
    )
    tok.model_max_length = 512
    return tok
