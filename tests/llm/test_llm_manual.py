"""The manual backend: prompts out as files, replies back as files written by another thread (or pasted)."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest

from rewardlab.llm import LLMError, LLMTimeout, ResponseCache, sample
from rewardlab.llm.manual import ManualBackend

PROMPT = [
    {"role": "system", "content": "You write reward functions."},
    {"role": "user", "content": "Write compute_reward for Pendulum."},
]


def make_backend(folder: Path, **kwargs) -> tuple[ManualBackend, io.StringIO]:
    err = io.StringIO()
    kwargs.setdefault("timeout_s", 10.0)
    backend = ManualBackend(folder, poll_s=0.02, interactive=False, stderr=err, **kwargs)
    return backend, err


def answer_in_background(folder: Path, count: int, delay: float = 0.1) -> tuple[threading.Thread, list[str]]:
    """Play the person: wait for ``count`` prompt files, then write a reply for each, slowly."""
    seen: list[str] = []

    def person() -> None:
        deadline = time.monotonic() + 10
        prompts: list[Path] = []
        while time.monotonic() < deadline:
            prompts = sorted(folder.glob("*.prompt.md"))
            if len(prompts) >= count:
                break
            time.sleep(0.01)
        time.sleep(delay)
        for prompt in prompts:
            text = prompt.read_text()
            seen.append(text)
            reply = prompt.with_name(prompt.name.replace(".prompt.md", ".response.md"))
            with reply.open("w") as handle:  # written in two steps, like a slow editor
                handle.write(f"```python\n# reply to {prompt.name}\n")
                handle.flush()
                time.sleep(0.005)
                handle.write("def compute_reward(s):\n    return 0.0\n```\n")

    thread = threading.Thread(target=person, daemon=True)
    thread.start()
    return thread, seen


def test_replies_written_by_another_thread(tmp_path):
    backend, err = make_backend(tmp_path)
    person, seen = answer_in_background(tmp_path, count=2)
    replies = sample(backend, PROMPT, 2)
    person.join(timeout=10)

    assert len(replies) == 2
    rid = backend.request_id(PROMPT, 1.0, 1024)
    for k, reply in enumerate(replies):
        assert reply.text.startswith(f"```python\n# reply to {rid}_{k}.prompt.md\n")
        assert reply.text.endswith("return 0.0\n```\n"), "a half-written file must not be taken"
        assert reply.usage.estimated and reply.finish_reason == "stop"
    assert all("## USER\n\nWrite compute_reward for Pendulum." in text for text in seen)
    assert all("## SYSTEM\n\nYou write reward functions." in text for text in seen)
    assert f"Save the model's reply as: {rid}_0.response.md" in seen[0]
    instructions = err.getvalue()
    assert instructions.count("[rewardlab manual LLM]") == 1
    assert str(tmp_path) in instructions and ".response.md" in instructions


def test_rerun_reuses_saved_replies_without_waiting(tmp_path):
    backend, _ = make_backend(tmp_path)
    person, _ = answer_in_background(tmp_path, count=1, delay=0)
    first = sample(backend, PROMPT, 1)
    person.join(timeout=10)

    again_backend, err = make_backend(tmp_path, timeout_s=0.2)
    assert sample(again_backend, PROMPT, 1) == first
    assert err.getvalue() == "", "nothing to ask, so no instructions"


def test_only_missing_samples_are_asked_for(tmp_path):
    exchange = tmp_path / "exchange"
    cache = ResponseCache(tmp_path / "cache")
    backend, _ = make_backend(exchange)
    person, _ = answer_in_background(exchange, count=2, delay=0)
    sample(backend, PROMPT, 2, cache=cache)
    person.join(timeout=10)

    person, _ = answer_in_background(exchange, count=3, delay=0)
    replies = sample(backend, PROMPT, 3, cache=cache)
    person.join(timeout=10)
    rid = backend.request_id(PROMPT, 1.0, 1024)
    assert sorted(p.name for p in exchange.glob("*.prompt.md")) == [f"{rid}_{k}.prompt.md" for k in range(3)]
    assert f"# reply to {rid}_2.prompt.md" in replies[2].text


def test_timeout_says_which_file_is_missing(tmp_path):
    backend, _ = make_backend(tmp_path, timeout_s=0.1)
    with pytest.raises(LLMTimeout) as info:
        sample(backend, PROMPT, 1)
    rid = backend.request_id(PROMPT, 1.0, 1024)
    assert f"{rid}_0.response.md" in str(info.value)
    assert (tmp_path / f"{rid}_0.prompt.md").exists()


def test_interactive_paste_is_saved_as_the_response_file(tmp_path):
    stdin = io.StringIO("def compute_reward(s):\n    return 1.0\nEOF\nsecond reply\nEOF\n")
    err = io.StringIO()
    backend = ManualBackend(tmp_path, interactive=True, stdin=stdin, stderr=err)
    replies = sample(backend, PROMPT, 2)

    assert [r.text for r in replies] == ["def compute_reward(s):\n    return 1.0\n", "second reply\n"]
    rid = backend.request_id(PROMPT, 1.0, 1024)
    assert (tmp_path / f"{rid}_1.response.md").read_text() == "second reply\n"
    assert "ending with a line containing only EOF" in err.getvalue()


def test_interactive_input_that_ends_early_is_an_error(tmp_path):
    backend = ManualBackend(tmp_path, interactive=True, stdin=io.StringIO(""), stderr=io.StringIO())
    with pytest.raises(LLMError, match="input ended"):
        sample(backend, PROMPT, 1)


def test_not_a_tty_means_files_only(tmp_path):
    backend = ManualBackend(
        tmp_path, stdin=io.StringIO("pasted\nEOF\n"), stderr=io.StringIO(), poll_s=0.02, timeout_s=0.1
    )
    with pytest.raises(LLMTimeout):
        sample(backend, PROMPT, 1)


class SlowTerminal(io.StringIO):
    """Lines arrive one at a time, as from a person, so concurrent readers would interleave."""

    def readline(self, size: int = -1) -> str:
        time.sleep(0.001)
        return super().readline(size)


def test_concurrent_requests_take_turns_at_the_terminal(tmp_path):
    replies_in = [f"reply {k}\n" + "".join(f"line {k}.{i}\n" for i in range(5)) for k in range(4)]
    stdin = SlowTerminal("".join(text + "EOF\n" for text in replies_in))
    backend = ManualBackend(tmp_path, interactive=True, stdin=stdin, stderr=io.StringIO())
    replies = sample(backend, PROMPT, 4, max_n_per_request=1, concurrency=4)
    assert sorted(r.text for r in replies) == sorted(replies_in), "each paste must stay whole"


def test_a_new_backend_on_the_same_folder_does_not_repeat_the_instructions(tmp_path):
    """A search builds a backend per iteration: the how-to is printed for the folder's first request only."""
    first, err_first = make_backend(tmp_path)
    person, _ = answer_in_background(tmp_path, count=1, delay=0)
    sample(first, PROMPT, 1)
    person.join(timeout=10)

    second, err_second = make_backend(tmp_path)
    later = [*PROMPT, {"role": "user", "content": "Iteration 1: improve it."}]
    person, _ = answer_in_background(tmp_path, count=2, delay=0)
    assert len(sample(second, later, 1)) == 1
    person.join(timeout=10)
    assert err_first.getvalue().count("[rewardlab manual LLM]") == 1
    assert err_second.getvalue() == ""

    elsewhere, err_other = make_backend(tmp_path / "other")
    person, _ = answer_in_background(tmp_path / "other", count=1, delay=0)
    sample(elsewhere, PROMPT, 1)
    person.join(timeout=10)
    assert err_other.getvalue().count("[rewardlab manual LLM]") == 1  # another folder is told again
