"""Completions kept on disk, so that resuming or re-running never pays twice for the same sample.

One JSON file per sample, named by a sha256 of everything that determines the request: backend kind,
model, messages, temperature, max_tokens and the sample's number. The sample number is in the key because
sampling at temperature > 0 is meant to give different replies: sample 3 of a prompt is its own entry.
Entries hold the completion and its usage only; request headers and keys never reach this layer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from rewardlab.llm.types import Completion, Message

log = logging.getLogger("rewardlab.llm")

CACHE_FORMAT = 1


class _Identified(Protocol):
    kind: str
    model: str


def cache_key(
    kind: str, model: str, messages: Sequence[Message], temperature: float, max_tokens: int, index: int
) -> str:
    """sha256 over a canonical JSON of the request; stable across Python versions and dict orders."""
    payload = {
        "format": CACHE_FORMAT,
        "kind": kind,
        "model": model,
        "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
        "temperature": float(temperature),
        "max_tokens": int(max_tokens),
        "index": int(index),
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    """A folder of ``<key[:2]>/<key>.json`` files; safe for concurrent writers thanks to atomic replace.

    A corrupt or unreadable entry counts as a miss (and is logged), so a damaged cache costs money at worst,
    never a crash.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path_for(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(
        self,
        backend: _Identified,
        messages: Sequence[Message],
        temperature: float,
        max_tokens: int,
        index: int,
    ) -> Completion | None:
        key = cache_key(backend.kind, backend.model, messages, temperature, max_tokens, index)
        path = self.path_for(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("key") != key:
                raise ValueError("key mismatch")
            return Completion.from_dict(data["completion"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable cache entry %s (%s)", path, exc)
            return None

    def put(
        self,
        backend: _Identified,
        messages: Sequence[Message],
        temperature: float,
        max_tokens: int,
        index: int,
        completion: Completion,
    ) -> Path:
        key = cache_key(backend.kind, backend.model, messages, temperature, max_tokens, index)
        entry: dict[str, Any] = {
            "key": key,
            "kind": backend.kind,
            "model": backend.model,
            "temperature": float(temperature),
            "max_tokens": int(max_tokens),
            "index": int(index),
            "completion": completion.to_dict(),
        }
        path = self.path_for(key)
        write_atomic(path, json.dumps(entry, ensure_ascii=False, indent=1) + "\n")
        return path

    def __len__(self) -> int:
        return sum(1 for _ in self.root.glob("??/*.json")) if self.root.exists() else 0


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and ``os.replace``, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
