"""A person is the backend: prompts go to files, replies come back as files (or are pasted on a terminal).

For users with a chat window but no API access, and for hand-driven runs that must be reproducible. Each
sample ``k`` of a request becomes ``DIR/<request-id>_<k>.prompt.md``; the reply is expected in
``DIR/<request-id>_<k>.response.md``. The request id is a hash of the model, messages and parameters, so a
re-run finds the replies already given and asks only for the missing ones: the folder is its own record.

A reply file is taken once it exists and its size and modification time are unchanged over one poll, so an
editor that writes in several steps is not read half-way.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, TextIO

from rewardlab.llm.cache import write_atomic
from rewardlab.llm.errors import LLMError, LLMTimeout
from rewardlab.llm.types import (
    Completion,
    Message,
    NSupport,
    Usage,
    estimate_prompt_tokens,
    estimate_tokens,
    normalize_messages,
)

END_OF_PASTE = "EOF"


class ManualBackend:
    """Writes prompt files, then waits for response files (or, interactively, reads pasted replies)."""

    kind = "manual"
    # Folders whose instructions this process has printed: a search builds a backend per iteration, and
    # the person answering needs the how-to once, not before every request.
    _told_folders: ClassVar[set[Path]] = set()

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        model: str = "manual",
        timeout_s: float = 3600.0,
        poll_s: float = 1.0,
        interactive: bool | None = None,
        stdin: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.model = model
        self.timeout_s = float(timeout_s)
        self.poll_s = float(poll_s)
        self.n_support = NSupport.YES
        self._stdin = stdin
        self._stderr = stderr
        self._interactive = interactive
        self._told = False
        self._paste_lock = threading.Lock()  # concurrent requests must not read the terminal at once

    def __repr__(self) -> str:
        return f"ManualBackend({str(self.folder)!r})"

    def describe(self) -> str:
        return f"manual:{self.folder}"

    async def aclose(self) -> None:
        return None

    def request_id(self, messages: Sequence[Message], temperature: float, max_tokens: int) -> str:
        blob = json.dumps(
            {
                "model": self.model,
                "messages": list(messages),
                "temperature": temperature,
                "max_tokens": max_tokens,
            },
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]

    def prompt_path(self, request_id: str, index: int) -> Path:
        return self.folder / f"{request_id}_{index}.prompt.md"

    def response_path(self, request_id: str, index: int) -> Path:
        return self.folder / f"{request_id}_{index}.response.md"

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        n: int = 1,
        temperature: float = 1.0,
        max_tokens: int = 1024,
        indices: Sequence[int] | None = None,
    ) -> list[Completion]:
        msgs = normalize_messages(messages)
        wanted = list(indices) if indices is not None else list(range(n))
        rid = self.request_id(msgs, temperature, max_tokens)
        self.folder.mkdir(parents=True, exist_ok=True)
        pending = []
        for index in wanted:
            if not self.response_path(rid, index).exists():
                write_atomic(
                    self.prompt_path(rid, index),
                    render_prompt(msgs, rid, index, self.model, temperature, max_tokens),
                )
                pending.append(index)
        if pending:
            self._instructions()
        interactive = self._is_interactive()
        deadline = time.monotonic() + self.timeout_s
        texts = []
        for index in wanted:
            if index not in pending:
                texts.append(_read_reply(self.response_path(rid, index)))
            elif interactive:
                texts.append(await asyncio.to_thread(self._read_pasted, rid, index))
            else:
                texts.append(await self._wait_for_file(rid, index, deadline))
        prompt_share = estimate_prompt_tokens(msgs) // max(len(wanted), 1)
        return [
            Completion(
                text=t, finish_reason="stop", usage=Usage(prompt_share, estimate_tokens(t), estimated=True)
            )
            for t in texts
        ]

    def _is_interactive(self) -> bool:
        if self._interactive is not None:
            return self._interactive
        stdin = self._stdin or sys.stdin
        try:
            return stdin.isatty()
        except (AttributeError, ValueError):
            return False

    def _say(self, text: str) -> None:
        stream = self._stderr or sys.stderr
        print(text, file=stream, flush=True)

    def _instructions(self) -> None:
        folder = self.folder.resolve()
        if self._told or folder in ManualBackend._told_folders:
            return
        self._told = True
        ManualBackend._told_folders.add(folder)
        if self._is_interactive():
            how = "paste each reply here, ending with a line containing only EOF"
        else:
            how = "save each reply next to its prompt as <same name>.response.md, as the model wrote it"
        self._say(
            f"[rewardlab manual LLM] Prompts are being written to {self.folder}/ as *.prompt.md.\n"
            "  1. Paste a prompt file's messages into your chat model (a new conversation each time).\n"
            f"  2. Then {how}.\n"
            f"  Waiting up to {self.timeout_s:.0f} s per request; saved replies are reused on re-runs."
        )

    async def _wait_for_file(self, rid: str, index: int, deadline: float) -> str:
        path = self.response_path(rid, index)
        last: tuple[int, int] | None = None
        while True:
            try:
                stat = path.stat()
                seen: tuple[int, int] | None = (stat.st_size, stat.st_mtime_ns)
            except FileNotFoundError:
                seen = None
            if seen is not None and seen == last:
                return _read_reply(path)
            last = seen
            if time.monotonic() >= deadline:
                raise LLMTimeout(
                    f"manual LLM: no reply in {path} after {self.timeout_s:.0f} s. Paste the prompt in "
                    f"{self.prompt_path(rid, index).name} into a chat model, save its reply as {path.name}, "
                    "and run again: replies already saved are reused."
                )
            await asyncio.sleep(self.poll_s)

    def _read_pasted(self, rid: str, index: int) -> str:
        with self._paste_lock:
            return self._read_pasted_unlocked(rid, index)

    def _read_pasted_unlocked(self, rid: str, index: int) -> str:
        stdin = self._stdin or sys.stdin
        path = self.response_path(rid, index)
        while True:
            self._say(f"\n--- Reply for {self.prompt_path(rid, index)} (end with a line: {END_OF_PASTE}) ---")
            lines: list[str] = []
            ended = True
            for line in iter(stdin.readline, ""):
                if line.rstrip("\r\n") == END_OF_PASTE:
                    ended = False
                    break
                lines.append(line)
            text = "".join(lines)
            if text.strip():
                write_atomic(path, text)
                return text
            if path.exists():
                return _read_reply(path)
            if ended:
                raise LLMError(f"manual LLM: input ended before a reply for {path.name} was given")
            self._say(f"Nothing pasted and {path.name} does not exist yet; try again.")


def _read_reply(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def render_prompt(
    messages: Sequence[Message], rid: str, index: int, model: str, temperature: float, max_tokens: int
) -> str:
    """The messages as Markdown a person can read and paste; the header says where the reply goes."""
    lines = [
        f"<!-- rewardlab manual request {rid}, sample {index}; intended model: {model}; "
        f"temperature {temperature:g}; max_tokens {max_tokens} -->",
        f"<!-- Save the model's reply as: {rid}_{index}.response.md -->",
        "",
    ]
    for message in messages:
        lines += [f"## {message['role'].upper()}", "", message["content"].rstrip("\n"), ""]
    return "\n".join(lines)
