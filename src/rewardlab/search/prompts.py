"""The prompt pieces (text files under `rewardlab/llm/prompts/`) and the messages built from them.

Messages are Markovian as in the paper: system, the task, then (after iteration 0) the best code so
far, its reflection, the errors of the last round and the instruction to improve. They are a pure
function of the search state, so a resumed iteration asks for exactly the same messages and gets its
replies from the cache. With `elites` > 1 the request also shows the run's next best distinct rewards
after the best one, with their scores, and invites the LLM to combine them (`briefing.elites_text`).

A `Brief` (with `reflection="table"`) adds what the paper's prompt leaves out: which round this is,
how a reward is judged (training budget, gamma, episode limit, what the score means), every candidate
of the last round, the best score after each round, a note when the last round improved nothing and the
starting reward to beat. The round line makes every request of a run different, so a round that
improved nothing is never answered from the previous round's replies or its manual prompt files.
Without a brief the messages are exactly the old ones, which a run folder made before it replays.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from rewardlab.llm import Message


@dataclass(frozen=True)
class Brief:
    """The table-mode additions to a request; each text is empty when it does not apply."""

    round: str
    setup: str
    table: str = ""
    history: str = ""
    stalled: str = ""
    start: str = ""
    fixed: str = ""

    def facts(self) -> list[str]:
        """What the request says about the last round, in reading order (empty parts left out)."""
        return [t for t in (self.fixed, self.setup, self.table, self.history, self.stalled, self.start) if t]


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


def first_messages(
    context: str,
    description: str,
    init_code: str | None = None,
    brief: Brief | None = None,
    init_trained: bool = False,
) -> list[Message]:
    """The request that starts a restart (or repeats it while nothing has trained yet). `init_trained`:
    the starting reward trains next to the replies, which the request says."""
    text = task_message(context, description, init_code)
    if init_code is not None and init_trained:
        text += "\n\n" + load("start_trained")
    if brief is not None:
        text = "\n\n".join([brief.round, text, *brief.facts()])
    return [
        {"role": "system", "content": system_message()},
        {"role": "user", "content": text},
    ]


def next_messages(
    context: str,
    description: str,
    best_code: str,
    best_fitness: float,
    reflection: str,
    errors: list[str],
    comment: str | None = None,
    brief: Brief | None = None,
    elites: str = "",
) -> list[Message]:
    """Iteration i+1: the best code as the assistant's turn, then its reflection and the instruction.
    `elites` (see `briefing.elites_text`) shows other high-scoring rewards right after the reflection."""
    others = [elites] if elites else []
    if brief is None:
        parts = [reflection.strip(), *others, load("advice")]
    else:
        parts = [brief.round, reflection.strip(), *others, *brief.facts(), load("advice_table")]
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
