"""The hostile corpus through the `sb3` engine's training child: the same verdicts as the JAX engine's.

Every corpus program that can reach training on CartPole (it passes the static policy: the `ok`, `shape`,
`trace`, `signature` and `non_finite` entries of `corpus/`; timeouts and memory bombs are the probe's job and
would only cost wall-clock here) is trained in one sandboxed child per engine: `ppo_jax` on the gymnax
`CartPole-v1`, `sb3` on `gymnasium:CartPole-v1`, whose state records have the same float fields. Both
children must give every program the same status: a correct program trains (`ok`), a program that does not
trace is an `error`, a non-finite total ends in `nan`; what only the probe refuses (a complex total, too
many components, a NaN component beside a finite total) trains in both. Budgets are one PPO update and
one short evaluation.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from rewardlab import tasks
from rewardlab.sandbox.worker import train_in_worker
from rewardlab.tasks.ref import resolve
from rewardlab.types import RewardProgram

pytestmark = pytest.mark.slow

CORPUS = Path(__file__).parent / "corpus"
KINDS = ("ok", "shape", "trace", "signature", "non_finite")


def _entries() -> list[tuple[str, str, str]]:
    out = []
    for path in sorted(CORPUS.glob("*.py.txt")):
        text = path.read_text(encoding="utf-8")
        head = [ln for ln in text.splitlines()[:6] if ln.startswith("# ")]
        expect = next(ln.split(":", 1)[1].strip() for ln in head if ln.startswith("# expect:"))
        if expect in KINDS and not any(ln.startswith("# task:") for ln in head):  # CartPole-v1 entries
            out.append((path.name.removesuffix(".py.txt"), expect, text))
    return out


ENTRIES = _entries()


def _train(spec: str, tmp: Path) -> dict[str, object]:
    task, ref = resolve(spec, check=False)
    cfg = dataclasses.replace(task.ppo, total_timesteps=512, n_checkpoints=1, eval_episodes=2)
    programs = [RewardProgram(name, text, "llm") for name, _, text in ENTRIES]
    results = train_in_worker(ref, programs, cfg, seeds=[0], run_dir=tmp, timeout_s=900)
    return {r.candidate: r for r in results}


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    return (
        _train("CartPole-v1", tmp_path_factory.mktemp("jax")),
        _train("gymnasium:CartPole-v1", tmp_path_factory.mktemp("sb3")),
    )


def test_the_corpus_subset_covers_every_kind_that_reaches_training():
    assert {expect for _, expect, _ in ENTRIES} == set(KINDS)
    assert len(ENTRIES) >= 30
    assert tasks.get("gymnasium:CartPole-v1").engine == "sb3"


@pytest.mark.parametrize(("name", "expect"), [(n, e) for n, e, _ in ENTRIES])
def test_sb3_child_gives_the_jax_childs_verdict(name, expect, verdicts):
    jax_results, sb3_results = verdicts
    ours, theirs = sb3_results[name], jax_results[name]
    assert ours.status == theirs.status, (ours.message, theirs.message)
    if expect == "ok":
        assert ours.status == "ok" and len(ours.checkpoints) == 1 and ours.extra["engine"] == "sb3"
    elif expect in ("trace", "signature"):
        assert ours.status == "error" and ours.message
    elif expect == "non_finite" and name != "non_finite_nan_component":
        assert ours.status == "nan" and "non-finite reward" in ours.message
    # `shape` entries: a complex total or too many components trains (the probe refuses them earlier);
    # the others are errors. A finite total with a NaN component trains too. Both engines agree above.
