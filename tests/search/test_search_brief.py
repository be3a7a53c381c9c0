"""The table-mode prompt (`reflection="table"`): what the next request says about the last iteration, on
records made by hand (no training, no LLM)."""

from __future__ import annotations

import pytest

from rewardlab import tasks
from rewardlab.runfolder import Candidate, EvalRecord
from rewardlab.sandbox import CheckReport
from rewardlab.search import briefing, prompts, reflect
from rewardlab.search.briefing import LastIteration
from rewardlab.search.config import SearchConfig
from rewardlab.types import Checkpoint, ComponentStats, TrainResult

PARENT = """import jax.numpy as jnp

def compute_reward(state, action, next_state):
    alive = jnp.float32(1.0)
    return alive, {"alive": alive}
"""
CHILD = """import jax.numpy as jnp

def compute_reward(state, action, next_state):
    step_cost = jnp.float32(-1.0)
    upright = 1.0 - jnp.abs(next_state.theta)
    return step_cost + upright, {"step_cost": step_cost, "upright": upright}
"""
REPLY = "I replaced the alive bonus with a step cost | and an upright term.\n\n```python\n" + CHILD + "```"


def _run(fits: list[float], comps: dict[str, tuple[float, float]] | None = None) -> tuple[TrainResult, ...]:
    """One training run per seed, each with two checkpoints whose best is the given fitness."""
    stats = {name: ComponentStats(lo, lo, hi) for name, (lo, hi) in (comps or {}).items()}
    return tuple(
        TrainResult(
            "x",
            seed,
            "ok",
            tuple(Checkpoint(100 * (k + 1), f * (k + 1) / 2, {}, 0.0, 0.0, 50.0, stats) for k in range(2)),
            200,
            1.0,
            1.0,
        )
        for seed, f in enumerate(fits)
    )


def _ok(i: int, j: int, fits: list[float], source: str = CHILD, origin: str = "llm", **kw) -> EvalRecord:
    cand = Candidate(0, i, j, source, origin, response_text=kw.pop("reply", None), note=kw.pop("note", ""))
    return EvalRecord(cand, "ok", results=_run(fits, kw.pop("comps", None)))


def _iteration0() -> list[EvalRecord]:
    bad = CheckReport.failure("trace", "state has no field 'foo'", line=4)
    return [
        _ok(0, 0, [200.0, 400.0], PARENT, "human", note="the starting reward, unchanged"),
        _ok(0, 1, [250.0, 250.0], reply=REPLY),
        EvalRecord(
            Candidate(0, 0, 2, CHILD, "llm", response_text="same again\n```python\n...```"),
            "check_failed",
            check=bad,
            message="trace: state has no field 'foo'",
        ),
        EvalRecord(Candidate(0, 0, 3, None, "llm", extract_reason="no fenced code"), "no_code"),
        EvalRecord(Candidate(0, 0, 4, PARENT, "llm"), "train_failed", message="nan: parameters went bad"),
    ]


def test_the_table_has_one_hand_checked_row_per_candidate_of_the_last_iteration():
    table = reflect.candidate_table(_iteration0(), "r0-i0-c0", PARENT)
    head = "Every reward of the last iteration (each written as a change of r0-i0-c0):"
    assert table.splitlines()[0] == head
    rows = [line for line in table.splitlines() if line.startswith("| r0-")]
    assert rows == [
        "| r0-i0-c0 | the starting reward, unchanged | 300 ± 141 (2 seeds) | ok |  |",
        "| r0-i0-c1 | adds step_cost, upright; drops alive; I replaced the alive bonus with a step cost "
        "/ and an upright term. | 250 ± 0 (2 seeds) | ok |  |",
        "| r0-i0-c2 | adds step_cost, upright; drops alive; same again | - | check_failed | trace |",
        "| r0-i0-c3 | no code | - | no_code | no code |",
        "| r0-i0-c4 | identical to it | - | train_failed | nan |",
    ]
    # one seed: no spread to show; from scratch: said so
    assert reflect.score_text(_ok(1, 0, [7.0])) == "7 (1 seed)"
    assert "written from scratch" in reflect.candidate_table([_ok(0, 0, [1.0])], None, None)


def test_no_improvement_note_and_best_score_history():
    config = SearchConfig(task="CartPole-v1", llm="scripted:x")
    task = tasks.get("CartPole-v1")
    it0 = _iteration0()
    best0 = it0[0]  # 300: the starting reward
    it1 = [_ok(1, 0, [100.0]), _ok(1, 1, [290.0])]
    past = [
        LastIteration(0, tuple(it0), None, None, best0),
        LastIteration(1, tuple(it1), "r0-i0-c0", PARENT, best0),  # nothing beat 300
    ]
    brief = briefing.make_brief(config, task, 0, 2, past, best0)
    assert brief.history == "Best score after each iteration so far: iteration 0: 300, iteration 1: 300."
    assert brief.stalled.startswith("The last iteration did not improve on the best score: none of its 2")
    assert "beat r0-i0-c0 (300 ± 141 (2 seeds),\nfound in iteration 0)" in brief.stalled
    assert "| r0-i1-c1 |" in brief.table and "| r0-i0-c1 |" not in brief.table  # the last iteration only
    # an iteration that improved gets no note
    better = _ok(1, 1, [310.0])
    improved = [past[0], LastIteration(1, (it1[0], better), "r0-i0-c0", PARENT, better)]
    assert briefing.make_brief(config, task, 0, 2, improved, best0).stalled == ""


def test_setup_states_fitness_definition_gamma_budget_and_episode_limit():
    text = briefing.setup_text(SearchConfig(task="CartPole-v1", seeds=3), tasks.get("CartPole-v1"))
    flat = " ".join(text.split())
    assert "PPO for 8,192 environment steps" in flat
    assert "gamma = 0.99" in flat
    assert "after at most 500 steps" in flat
    assert "mean evaluation episode length in steps (0-500; 500 = balanced for the whole episode)" in flat
    assert "The task score lies between 0 and 500." in flat
    assert "the maximum over checkpoints" in flat and "averaged over 3 training seeds" in flat
    assert "episodes (greedily: its most likely action)" in flat
    pendulum = " ".join(briefing.setup_text(SearchConfig(timesteps=1000), tasks.get("Pendulum-v1")).split())
    assert "gamma = 0.95" in pendulum and "1,000 environment steps" in pendulum and "at most 200" in pendulum
    # MinAtar, XLand and Crafting score a policy that samples its actions: the prompt must not say greedy
    sampled = briefing.setup_text(SearchConfig(), tasks.get("Breakout-MinAtar"))
    assert "with actions sampled from it" in " ".join(sampled.split()) and "greed" not in sampled
    assert max(len(line) for line in sampled.splitlines()) <= 104


def _next(brief: prompts.Brief | None) -> list:
    return prompts.next_messages("ctx", "desc", PARENT, 300.0, "refl", ["check failed"], None, brief)


def test_two_consecutive_requests_differ_even_when_nothing_improved():
    config = SearchConfig(task="CartPole-v1", llm="scripted:x", iterations=4, restarts=2)
    task = tasks.get("CartPole-v1")
    it0 = _iteration0()
    past = [LastIteration(0, tuple(it0), None, None, it0[0])]
    stuck = [*past, LastIteration(1, (_ok(1, 0, [1.0]),), "r0-i0-c0", PARENT, it0[0])]
    a = _next(briefing.make_brief(config, task, 0, 1, past, it0[0]))
    b = _next(briefing.make_brief(config, task, 0, 2, stuck, it0[0]))
    assert a != b  # same best, reflection and errors: the iteration, table and note still differ
    assert "This is iteration 1 of the search (iterations 0 to 3; restart 0 of 0 to 1;" in a[-1]["content"]
    assert "did not improve" in b[-1]["content"] and "did not improve" not in a[-1]["content"]
    # the first request of each restart differs too
    first = [
        prompts.first_messages("ctx", "desc", None, briefing.make_brief(config, task, r, 0, [], None))
        for r in (0, 1)
    ]
    assert first[0] != first[1]
    assert "gamma = 0.99" in first[0][-1]["content"]
    # without a brief (run folders from before it), the request is the old one, word for word
    assert _next(None)[-1]["content"].startswith("refl\n\n" + prompts.load("advice"))


def test_constant_terms_are_named_as_deliberate_and_the_flat_term_advice_spares_them():
    best = _ok(0, 1, [5.0], comps={"step_cost": (-1.0, -1.0), "upright": (0.2, 0.9)})
    assert reflect.fixed_terms(best) == ["step_cost = -1"]
    text = briefing.fixed_text(best)
    assert "step_cost = -1" in text and "upright" not in text
    assert briefing.fixed_text(_ok(0, 1, [5.0], comps={"upright": (0.2, 0.9)})) == ""
    advice = prompts.load("advice_table")
    assert "same on every step" in advice and "deliberate" in advice


@pytest.mark.parametrize("best_is_start", [True, False])
def test_the_starting_reward_stays_visible_with_its_score(best_is_start):
    start = _iteration0()[0]
    best = start if best_is_start else _ok(1, 0, [350.0, 350.0])
    text = briefing.start_text(start, best)
    assert "300 ± 141 (2 seeds)" in text
    if best_is_start:
        assert "still the starting reward" in text and "```" not in text
    else:
        assert "50 above" in text and 'return alive, {"alive": alive}' in text


THIRD = CHILD.replace("1.0 - jnp.abs", "2.0 - jnp.abs")


def test_elites_show_the_next_best_distinct_rewards_with_scores_and_none_by_default():
    best = _ok(1, 0, [400.0, 420.0], CHILD)
    records = [
        *_iteration0(),  # r0-i0-c0 PARENT 300, r0-i0-c1 CHILD 250 (the best's code: skipped), failures
        best,
        _ok(1, 1, [280.0], THIRD),
        _ok(1, 2, [100.0], CHILD.replace("-1.0", "-2.0")),
    ]
    text = briefing.elites_text(records, best, 3)
    # the two best after `best` whose code differs from it and from each other, best first, with scores
    assert text.index("r0-i0-c0, task score 300 ± 141 (2 seeds)") < text.index("r0-i1-c1, task score 280")
    assert 'return alive, {"alive": alive}' in text and "2.0 - jnp.abs" in text
    assert "r0-i0-c1" not in text and "r0-i1-c2" not in text  # same code as the best; fourth place
    assert text.count("```python") == 2
    assert briefing.elites_text(records, best, 1) == ""  # the paper's prompt: the best only
    assert briefing.elites_text([best], best, 4) == ""  # nothing else scored


def test_elites_come_right_after_the_reflection_and_change_nothing_else():
    plain = _next(None)[-1]["content"]
    shown = prompts.next_messages(
        "ctx", "desc", PARENT, 300.0, "refl", ["check failed"], None, None, "ELITES"
    )[-1]["content"]
    assert shown == plain.replace("refl\n\n", "refl\n\nELITES\n\n", 1)
    with pytest.raises(ValueError, match="elites must be >= 1"):
        SearchConfig(task="CartPole-v1", elites=0)


@pytest.mark.parametrize(
    ("reply", "said"),
    [
        # a real reply's shape (docs/results/search/llm_pendulum): headings, then analysis, then "Changes"
        ("**Reading the statistics:**\n- **task_score** rose to 0.3.\n\n**Changes:** I keep c2 and make "
         "these changes:\n- Narrow the `upright` Gaussian.\n- Drop jerk.\n\n```python\n...```",
         "Narrow the upright Gaussian."),
        ("**Analysis**\n\n- **height** (0.2 -> 0.6): it responds.\n\n**Changes**\n\n1. Lower `height_power` "
         "to 2.\n2. Add an energy term.\n```python\n...```", "Lower height_power to 2."),
        ("## Diagnosis\nThe score stalls early.\n```python\n...```", "The score stalls early."),
        ("Reading the statistics:\n\n- task_score climbs to 0.3, so keep the upright term.\n```python\n```",
         "task_score climbs to 0.3, so keep the upright term."),
        ("same again\n```python\n...```", "same again"),
        ("```python\n...```", ""),
    ],
    ids=["changes-heading-then-list", "bold-heading-numbered-list", "markdown-heading", "colon-line",
         "one-short-line", "code-only"],
)
def test_own_words_skip_headings_and_prefer_what_the_reply_says_it_changed(reply, said):
    assert reflect._own_words(reply) == said
