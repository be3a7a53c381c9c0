"""The one error path of the `rewardlab` command.

Every subcommand's handler runs through `run_command`. An error rewardlab knows becomes one line on
stderr, `rewardlab COMMAND: what went wrong, where, what to do`, and an exit status:

* 2 (`USAGE`): the input is wrong and nothing ran (or nothing was changed): a task reference that does
  not resolve, an unreadable or rejected reward file, a bad LLM spec or key, an LLM endpoint that does
  not answer, a bad setting, a damaged run folder, a run another process drives, a missing user file;
* 1 (`FAILED`): the run itself failed (an LLM that stopped answering mid-run, a dead training);
  the line says how to continue (`rewardlab resume RUN`) when a run folder keeps the work done.

Anything else is an internal error: one line too, naming the exception, with the hint to run again with
`--debug`. Tracebacks are printed only with `--debug` (a global flag) or `REWARDLAB_DEBUG=1`.

The error classes are looked up among the modules already imported (an instance of a class means its
module was loaded), so this path imports nothing heavy: `rewardlab --help` stays instant.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, TextIO

USAGE, FAILED, INTERRUPTED = 2, 1, 130
DEBUG_ENV = "REWARDLAB_DEBUG"

_USAGE_ERRORS = (
    ("rewardlab.tasks.ref", "TaskRefError"),
    ("rewardlab.rewards.program", "RewardProgramError"),
    ("rewardlab.llm.errors", "LLMConfigError"),
    ("rewardlab.llm.errors", "LLMUnreachable"),
    ("rewardlab.llm.errors", "LLMRequestRejected"),
    ("rewardlab.runfolder.io", "RunFolderError"),
    ("rewardlab.search.runs", "RunInUse"),
    ("rewardlab.tasks.context", "ContextError"),
    ("rewardlab.executors.base", "ExecutorUnavailable"),
)
"""Errors that mean the input is wrong: exit status 2."""
_RUN_ERRORS = (("rewardlab.llm.errors", "LLMError"),)
"""Errors that mean the run failed: exit status 1."""


def debug_requested(args: Any = None) -> bool:
    return bool(getattr(args, "debug", False)) or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def run_command(
    command: str, handler: Callable[[Any], Any], args: Any, *, err: TextIO | None = None
) -> int:
    """`handler(args)` as an exit status; errors become one line on `err` (see the module docstring)."""
    err = err or sys.stderr
    debug = debug_requested(args)
    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt as exc:
        notes = " ".join(getattr(exc, "__notes__", []))
        print(f"rewardlab {command}: interrupted" + (f"; {notes}" if notes else ""), file=err)
        return INTERRUPTED
    except Exception as exc:
        if debug:
            traceback.print_exc(file=err)
        code, line = describe(exc)
        print(f"rewardlab {command}: {line}", file=err)
        return code


def describe(exc: BaseException) -> tuple[int, str]:
    """(exit status, the one line after `rewardlab COMMAND: `) for an exception."""
    if _is(exc, _USAGE_ERRORS):
        return USAGE, one_line(exc)
    if _is(exc, _RUN_ERRORS):
        return FAILED, one_line(exc)
    if isinstance(exc, OSError) and exc.filename is not None:
        where = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
        return USAGE, f"{exc.strerror or type(exc).__name__}: {where}"
    if isinstance(exc, ValueError | OSError):  # bad settings and values; disk and permission problems
        return USAGE, one_line(exc)
    return FAILED, (
        f"internal error: {type(exc).__name__}: {one_line(exc)} (run again with --debug for the "
        "traceback, and please report it)"
    )


def one_line(exc: BaseException) -> str:
    """The message and its notes, whitespace collapsed: one line however the message was written."""
    text = "; ".join([str(exc).rstrip(" ;"), *getattr(exc, "__notes__", [])])
    return " ".join(text.split()) or type(exc).__name__


def _is(exc: BaseException, classes: tuple[tuple[str, str], ...]) -> bool:
    for module, name in classes:
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type) and isinstance(exc, cls):
            return True
    return False
