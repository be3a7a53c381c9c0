"""``rewardlab llm ping SPEC``: check an endpoint before spending a run on it.

Kept as an importable function that adds itself to the main CLI's subparsers, so the CLI stays thin and
this can be tested without a subprocess.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, TextIO

from rewardlab.llm.base import sample
from rewardlab.llm.errors import LLMConfigError, LLMError
from rewardlab.llm.retry import RetryPolicy
from rewardlab.llm.spec import SPEC_HELP, backend_from_spec

PING_PROMPT = "Reply with the single word: pong"


def add_llm_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``llm ping`` to an argparse subparsers object; its handler is ``func`` and returns an exit code."""
    llm = subparsers.add_parser("llm", help="check LLM backends", description="Check LLM backends.")
    commands = llm.add_subparsers(dest="llm_command", metavar="COMMAND", required=True)
    ping = commands.add_parser(
        "ping",
        help="send one short prompt; print the reply, latency and token usage",
        description="Send one short prompt to an LLM backend and print the reply, latency and token usage.",
    )
    ping.add_argument("spec", metavar="SPEC", help=SPEC_HELP)
    ping.add_argument("--prompt", default=PING_PROMPT, help="the user message to send (default: %(default)r)")
    ping.add_argument(
        "--max-tokens", type=int, default=32, help="completion token limit (default: %(default)s)"
    )
    ping.add_argument(
        "--temperature", type=float, default=0.0, help="sampling temperature (default: %(default)s)"
    )
    ping.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds without a token before an attempt is given up (replies stream; default: %(default)s)",
    )
    ping.add_argument(
        "--attempts", type=int, default=2, help="attempts before giving up (default: %(default)s)"
    )
    ping.set_defaults(func=run_ping)
    return llm


def run_ping(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Exit code 0 on a reply, 1 when the backend failed, 2 when the spec or key is wrong."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        backend = backend_from_spec(
            args.spec,
            timeout_s=args.timeout,
            retry=RetryPolicy(max_attempts=max(1, args.attempts), base_delay_s=1.0, max_delay_s=10.0),
            manual_timeout_s=args.timeout,
        )
    except LLMConfigError as exc:
        print(f"rewardlab llm ping: {_one_line(exc)}", file=err)
        return 2
    started = time.monotonic()
    try:
        [reply] = sample(
            backend,
            [{"role": "user", "content": args.prompt}],
            1,
            temperature=args.temperature,
            max_tokens=args.max_tokens,
        )
    except LLMConfigError as exc:
        print(f"rewardlab llm ping: {_one_line(exc)}", file=err)
        return 2
    except LLMError as exc:
        print(f"rewardlab llm ping: {_one_line(exc)}", file=err)
        return 1
    latency = time.monotonic() - started
    usage = reply.usage
    estimated = " (estimated: the server sent no usage)" if usage.estimated else ""
    print(f"backend:       {backend.describe()}", file=out)
    server = getattr(backend, "server", None)
    if server is not None and server.server:
        at_once = f" ({server.concurrency} request(s) at a time)" if server.concurrency else ""
        print(f"server:        {server.server}{at_once}", file=out)
    print(f"reply:         {reply.text.strip()!r}", file=out)
    print(f"finish_reason: {reply.finish_reason}", file=out)
    print(f"latency:       {latency:.2f} s", file=out)
    tokens = f"{usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens"
    print(
        f"usage:         {tokens}{estimated}",
        file=out,
    )
    return 0


def _one_line(exc: BaseException) -> str:
    """The error's message and its notes on one line."""
    text = "; ".join([str(exc).rstrip(" ;"), *getattr(exc, "__notes__", [])])
    return " ".join(text.split()) or type(exc).__name__
