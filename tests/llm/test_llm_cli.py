"""``rewardlab llm ping`` as a function over an argparse parser (the main CLI wires it in)."""

from __future__ import annotations

import argparse
import io

from fake_openai import Reply, Status

from rewardlab.llm.cli import add_llm_cli


def run(argv: list[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="rewardlab")
    add_llm_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    return args.func(args, out=out, err=err), out.getvalue(), err.getvalue()


def test_ping_prints_reply_latency_and_usage(fake_llm):
    fake_llm.default = Reply(texts="pong")
    code, out, _ = run(["llm", "ping", f"openai:fake-model@{fake_llm.openai_url}", "--max-tokens", "8"])
    assert code == 0
    assert "reply:         'pong'" in out
    assert "latency:" in out and "usage:         11 prompt + 2 completion tokens" in out
    body = fake_llm.bodies()[0]
    assert body["max_tokens"] == 8 and body["temperature"] == 0.0
    assert body["messages"] == [{"role": "user", "content": "Reply with the single word: pong"}]


def test_ping_reports_estimated_usage(fake_llm):
    fake_llm.default = Reply(texts="pong", usage=False)
    code, out, _ = run(["llm", "ping", f"openai:m@{fake_llm.openai_url}"])
    assert code == 0 and "estimated" in out


def test_ping_failure_exit_code_and_message(fake_llm):
    fake_llm.default = Status(500, "kaput")
    code, out, err = run(["llm", "ping", f"openai:m@{fake_llm.openai_url}", "--attempts", "1"])
    assert code == 1 and out == ""
    assert "gave up after 1 attempt" in err and "HTTP 500: kaput" in err


def test_ping_bad_spec_exit_code():
    code, _, err = run(["llm", "ping", "nonsense"])
    assert code == 2 and "bad LLM spec" in err
