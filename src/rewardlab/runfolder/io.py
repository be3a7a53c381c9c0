"""Writing and reading run-folder files: atomically, so a reader (or a resumed run) sees a whole file or
none, even when the writer is SIGKILLed halfway. A file that cannot be read back (edited by hand, damaged
on disk, left by another version) is a `RunFolderError` that names the file and says what to do."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import yaml


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` to a temporary sibling, fsync it, then `os.replace` it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, allow_nan=True, default=str) + "\n")


DAMAGED_HINT = "restore it from a copy, or start a new run"


class RunFolderError(ValueError):
    """A file of a run folder is missing, unreadable or not what the schema says.

    The message is one line: the file, what is wrong with it, and what to do (`hint`).
    """

    def __init__(self, path: Path, problem: str, hint: str = DAMAGED_HINT) -> None:
        self.path = Path(path)
        self.problem = problem
        self.hint = hint
        super().__init__(f"{path}: {problem}; {hint}")


def read_json(path: Path, hint: str = DAMAGED_HINT) -> Any:
    try:
        return json.loads(_read(path, hint))
    except ValueError as exc:
        if isinstance(exc, RunFolderError):
            raise
        where = f" (line {exc.lineno}: {exc.msg})" if isinstance(exc, json.JSONDecodeError) else ""
        raise RunFolderError(path, f"is not valid JSON{where}", hint) from None


def write_yaml_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, yaml.safe_dump(data, sort_keys=True))


def read_yaml(path: Path, hint: str = DAMAGED_HINT) -> Any:
    try:
        return yaml.safe_load(_read(path, hint))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}: {getattr(exc, 'problem', None) or 'syntax error'})" if mark else ""
        raise RunFolderError(path, f"is not valid YAML{where}", hint) from None


def _read(path: Path, hint: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunFolderError(path, "is missing", hint) from None
    except UnicodeDecodeError:
        raise RunFolderError(path, "is not UTF-8 text", hint) from None
    except OSError as exc:
        raise RunFolderError(path, f"cannot be read ({exc.strerror or exc})", hint) from None


def read_text(path: Path) -> str | None:
    """The file's text, or None when it does not exist."""
    return path.read_text(encoding="utf-8") if path.exists() else None
