"""A CLIP image-text encoder from a directory on the user's disk, through `transformers` (torch).

VLM-RM (`rewardlab.rewards.vlm`) only needs two things from a vision-language model: unit-length
embeddings of frames and of sentences in one space. `CLIPEncoder` gives them for any model that
`transformers.CLIPModel` loads: a folder written by `CLIPModel.save_pretrained` plus the tokenizer's
`save_pretrained` (and, optionally, the image processor's `preprocessor_config.json`). Nothing is ever
fetched from the Hugging Face hub: `local_files_only=True` and `HF_HUB_OFFLINE=1`.

Frames are preprocessed here in torch (resize the shortest side, centre-crop, scale, normalise with the
processor's mean and std) rather than through the image processor class, which in transformers 5 needs
torchvision; a frame already at the crop size (the rasterisers' default 224 x 224) is only normalised.
torch and transformers are imported when an encoder is built, so `import rewardlab` stays light.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
_OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
_INSTALL_HINT = "VLM-RM needs torch and transformers: pip install 'rewardlab[vlm]'"


class EncoderError(ValueError):
    """An encoder could not be built: a missing library or a directory that does not hold a CLIP model."""


@dataclass(frozen=True)
class ImagePreprocessing:
    """How a frame becomes CLIP's pixel input: resize the shortest side to `shortest_edge`, centre-crop to
    `crop` (height, width), scale to [0, 1], then normalise per channel with `mean` and `std`."""

    shortest_edge: int = 224
    crop: tuple[int, int] = (224, 224)
    mean: tuple[float, float, float] = _OPENAI_CLIP_MEAN
    std: tuple[float, float, float] = _OPENAI_CLIP_STD

    @classmethod
    def for_image_size(cls, size: int) -> ImagePreprocessing:
        return cls(shortest_edge=size, crop=(size, size))

    @classmethod
    def from_file(cls, path: Path, image_size: int) -> ImagePreprocessing:
        """Read a `preprocessor_config.json` (as `CLIPImageProcessor.save_pretrained` writes it)."""
        cfg = json.loads(path.read_text("utf-8"))
        size, crop = cfg.get("size", {}), cfg.get("crop_size", {})
        edge = size.get("shortest_edge", size.get("height", image_size)) if isinstance(size, dict) else size
        if isinstance(crop, dict):
            crop_hw = (int(crop.get("height", image_size)), int(crop.get("width", image_size)))
        else:
            crop_hw = (int(crop), int(crop))
        return cls(
            shortest_edge=int(edge),
            crop=crop_hw,
            mean=tuple(cfg.get("image_mean", _OPENAI_CLIP_MEAN)),
            std=tuple(cfg.get("image_std", _OPENAI_CLIP_STD)),
        )


def check_libraries() -> None:
    """An EncoderError naming the extra to install when torch or transformers is missing (nothing is
    imported: a spec check must stay instant)."""
    missing = [name for name in ("torch", "transformers") if importlib.util.find_spec(name) is None]
    if missing:
        raise EncoderError(f"{_INSTALL_HINT} (missing: {', '.join(missing)})")


def _libraries() -> tuple[Any, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise EncoderError(f"{_INSTALL_HINT} ({exc})") from None
    return torch, transformers


def byte_level_tokenizer() -> Any:
    """A CLIP tokenizer whose vocabulary is the 256 byte symbols (and their end-of-word forms), no merges.

    For encoders built from a config (tests, throughput measurements): it needs no files; the config's
    text model needs `vocab_size` >= 515, `bos_token_id=0` and `eos_token_id=pad_token_id=1` (CLIP pools
    the text at the end-of-text token, found by its id). Real CLIP weights come with their own tokenizer.
    """
    _libraries()
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for symbol in sorted(ByteLevel.alphabet()):
        vocab[symbol] = len(vocab)
    for symbol in sorted(ByteLevel.alphabet()):
        vocab[symbol + "</w>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[])


class CLIPEncoder:
    """Unit-length CLIP embeddings of uint8 frames [N, H, W, 3] and of sentences, in batches, on CPU or CUDA.

    `model` is a `transformers.CLIPModel` (public, so a test can fit a tiny one), `tokenizer` a CLIP
    tokenizer, `device` "cpu", "cuda" or None (CUDA when available).
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        preprocessing: ImagePreprocessing | None = None,
        device: str | None = None,
        batch_size: int = 64,
    ) -> None:
        torch, _ = _libraries()
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self._torch = torch
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        image_size = int(model.config.vision_config.image_size)
        self.preprocessing = preprocessing or ImagePreprocessing.for_image_size(image_size)
        self.batch_size = batch_size
        self.max_text_tokens = int(model.config.text_config.max_position_embeddings)
        eos = model.config.text_config.eos_token_id
        if eos != 2 and getattr(tokenizer, "eos_token_id", eos) != eos:
            # CLIP pools a sentence at its end-of-text token; a mismatch would pool every sentence at
            # position 0 and make all sentences embed alike.
            raise EncoderError(
                f"the tokenizer's end-of-text id {tokenizer.eos_token_id} is not the text model's "
                f"eos_token_id {eos}"
            )
        self._mean = torch.tensor(self.preprocessing.mean, dtype=torch.float32, device=self.device)
        self._std = torch.tensor(self.preprocessing.std, dtype=torch.float32, device=self.device)

    @classmethod
    def from_directory(cls, directory: str | os.PathLike, device: str | None = None, batch_size: int = 64):
        """Load a CLIP model and its tokenizer saved with `save_pretrained` in `directory`, offline."""
        path = Path(directory).expanduser()
        if not path.is_dir():
            raise EncoderError(f"encoder directory {str(path)!r} does not exist")
        config_file = path / "config.json"
        if not config_file.is_file():
            raise EncoderError(
                f"{str(path)!r} holds no CLIP model: no config.json "
                "(expected a folder written by CLIPModel.save_pretrained)"
            )
        try:
            model_type = json.loads(config_file.read_text("utf-8")).get("model_type")
        except (OSError, ValueError, AttributeError) as exc:
            raise EncoderError(f"{str(config_file)!r} is not a readable model config: {exc}") from None
        if model_type != "clip":
            raise EncoderError(f"{str(path)!r} holds a {model_type!r} model, not a CLIP model ('clip')")
        _, transformers = _libraries()
        from rewardlab.rewards.quiet import no_loading_bars

        try:
            with no_loading_bars():
                model = transformers.CLIPModel.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise EncoderError(f"cannot load the CLIP model in {str(path)!r}: {_one_line(exc)}") from None
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError, TypeError) as exc:
            raise EncoderError(f"cannot load the tokenizer in {str(path)!r}: {_one_line(exc)}") from None
        image_size = int(model.config.vision_config.image_size)
        processor_file = path / "preprocessor_config.json"
        preprocessing = ImagePreprocessing.for_image_size(image_size)
        if processor_file.is_file():
            try:
                preprocessing = ImagePreprocessing.from_file(processor_file, image_size)
            except (OSError, ValueError, TypeError, AttributeError) as exc:
                bad = f"{str(processor_file)!r} is not a readable processor config: {exc}"
                raise EncoderError(bad) from None
        return cls(model, tokenizer, preprocessing, device=device, batch_size=batch_size)

    @classmethod
    def from_config(
        cls,
        config: Any,
        tokenizer: Any = None,
        device: str | None = None,
        batch_size: int = 64,
        seed: int = 0,
    ) -> CLIPEncoder:
        """A randomly initialised CLIP from a `transformers.CLIPConfig` (tests and throughput only)."""
        torch, transformers = _libraries()
        torch.manual_seed(seed)
        model = transformers.CLIPModel(config)
        return cls(model, tokenizer or byte_level_tokenizer(), device=device, batch_size=batch_size)

    # --- inputs -----------------------------------------------------------------------------------------

    def pixel_values(self, frames: np.ndarray) -> Any:
        """uint8 frames [N, H, W, 3] -> the model's normalised float input [N, 3, crop_h, crop_w]."""
        torch = self._torch
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"frames must be uint8 [N, H, W, 3], got shape {frames.shape}")
        x = torch.from_numpy(np.array(frames, dtype=np.uint8)).to(self.device)
        x = x.permute(0, 3, 1, 2).to(torch.float32) / 255.0
        pre = self.preprocessing
        height, width = x.shape[-2:]
        if min(height, width) != pre.shortest_edge:
            scale = pre.shortest_edge / min(height, width)
            new = (max(pre.crop[0], round(height * scale)), max(pre.crop[1], round(width * scale)))
            x = torch.nn.functional.interpolate(x, size=new, mode="bicubic", antialias=True)
            x = x.clamp(0.0, 1.0)
        height, width = x.shape[-2:]
        top, left = (height - pre.crop[0]) // 2, (width - pre.crop[1]) // 2
        if top < 0 or left < 0:
            raise ValueError(f"frames of {height}x{width} are smaller than the crop {pre.crop}")
        x = x[:, :, top : top + pre.crop[0], left : left + pre.crop[1]]
        return (x - self._mean[:, None, None]) / self._std[:, None, None]

    def text_inputs(self, texts: Sequence[str]) -> dict[str, Any]:
        """Token ids and attention mask for `texts`, padded and truncated to the text model's length."""
        batch = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_text_tokens, return_tensors="pt"
        )
        return {k: v.to(self.device) for k, v in batch.items() if k in ("input_ids", "attention_mask")}

    # --- the ImageTextEncoder contract ------------------------------------------------------------------

    def encode_images(self, frames: np.ndarray) -> np.ndarray:
        """float32 [N, D], each row of unit length."""
        frames = np.asarray(frames)
        out = []
        with self._torch.inference_mode():
            for start in range(0, len(frames), self.batch_size):
                pixels = self.pixel_values(frames[start : start + self.batch_size])
                out.append(self._unit(self.model.get_image_features(pixel_values=pixels).pooler_output))
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """float32 [M, D], each row of unit length."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with self._torch.inference_mode():
            out = self.model.get_text_features(**self.text_inputs(texts)).pooler_output
        return self._unit(out)

    @property
    def dim(self) -> int:
        return int(self.model.config.projection_dim)

    def close(self) -> None:
        """Drop the model; on CUDA, return its memory to the device."""
        self.model = None
        if self.device.type == "cuda":
            self._torch.cuda.empty_cache()

    def _unit(self, emb: Any) -> np.ndarray:
        emb = emb.float()
        emb = emb / emb.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return emb.cpu().numpy().astype(np.float32)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__
