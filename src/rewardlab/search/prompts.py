"""The prompt pieces (text files under `rewardlab/llm/prompts/`) and the messages built from them.

Messages are Markovian as in the paper: system, the task, then (after iteration 0) the best code so
far, its reflection, the errors of the last round and the instruction to improve. They are a pure
function of the search state, so a resumed iteration asks for exactly the same messages and gets its
replies from the cache.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from rewardlab.llm import Message


@cache
def load(name: str) -> str:
    """The text of `llm/prompts/<name>.txt`, without its trailing newline."""
    return resources.files("rewardlab.llm").joinpath("prompts", f"{name}.txt").read_text("utf-8").rstrip("\n")


def system_message() -> str:
    return load("system") + "\n\n" + load("tips")


def task_message(context: str, description: str, init_code: str | None = None) -> str:
    text = load("task").format(context=context.strip(), description=description.strip())
    if init_code is not None:
        text += "\n\n" + load("init").format(code=init_code.strip())
    return text


def first_messages(context: str, description: str, init_code: str | None = None) -> list[Message]:
    return [
        {"role": "system", "content": system_message()},
        {"role": "user", "content": task_message(context, description, init_code)},
    ]


def next_messages(
    context: str,
    description: str,
    best_code: str,
    best_fitness: float,
    reflection: str,
    errors: list[str],
    comment: str | None = None,
) -> list[Message]:
    """Iteration i+1: the best code as the assistant's turn, then its reflection and the instruction."""
    parts = [reflection.strip(), load("advice")]
    if comment:
        parts.append(load("human_feedback").format(comment=comment.strip()))
    if errors:
        parts.append(load("errors").format(errors="\n".join(f"- {e}" for e in errors)))
    parts.append(load("mutate"))
    return [
        {"role": "system", "content": system_message()},
        {"role": "user", "content": task_message(context, description)},
        {
            "role": "assistant",
            "content": load("best").format(fitness=f"{best_fitness:.4g}", code=best_code.strip()),
        },
        {"role": "user", "content": "\n\n".join(parts)},
    ]
