"""Pieces that need no child process: the report record, error classification, the restricted loader.

The restricted-loader tests run small programs that would misbehave if a guard were missing, but are
harmless even then (they only try to import or look things up; nothing writes or spawns).
"""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import pytest

from rewardlab.sandbox import KINDS, CheckReport, Limits, Magnitude
from rewardlab.sandbox.errors import CpuTimeExceeded, classify_exception, clean_text
from rewardlab.sandbox.lines import return_line, value_line
from rewardlab.sandbox.restricted import ProgramLoadError, guarded_modules, load_untrusted

# --- report -------------------------------------------------------------------------------------------


def test_report_round_trips_through_json():
    report = CheckReport(
        ok=True, name="cand", stage="probe", total=Magnitude(1.5, -2.0, 3.0),
        components={"a": Magnitude(0.5, 0.0, 1.0)}, warnings=("w",), seconds=0.25,
    )
    again = CheckReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again == report
    failed = CheckReport.failure("trace", "line 3: boom", line=3, rule=None, name="x", stage="probe")
    assert CheckReport.from_dict(json.loads(json.dumps(failed.to_dict()))) == failed


def test_report_validates_its_kind():
    with pytest.raises(ValueError):
        CheckReport(ok=False, kind="weird")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        CheckReport(ok=True, kind="trace")
    assert set(KINDS) == {"syntax", "policy", "signature", "trace", "shape", "non_finite", "timeout",
                          "memory", "crash"}


def test_feedback_for_the_llm():
    ok = CheckReport(ok=True, total=Magnitude(1.0, 0.0, 2.0), components={"alive": Magnitude(1.0, 1.0, 1.0)})
    assert "passed" in ok.feedback() and "alive" in ok.feedback()
    bad = CheckReport.failure("shape", "line 4: total has shape (2,)", line=4)
    text = bad.feedback()
    assert text.startswith("The reward function failed the check (shape")
    assert "line 4" in text


def test_limits_validate():
    with pytest.raises(ValueError):
        Limits(wall_s=0)
    with pytest.raises(ValueError):
        Limits(memory_mb=-1)
    assert Limits.from_dict(Limits(1.0, None, 10).to_dict()) == Limits(1.0, None, 10)


# --- error classification -------------------------------------------------------------------------------


def _raise_from_candidate(source: str) -> BaseException:
    code = compile(source, "<reward>", "exec")
    ns: dict = {}
    try:
        exec(code, ns)
        ns["f"]()
    except BaseException as exc:
        return exc
    raise AssertionError("did not raise")


def test_traceback_is_cut_to_candidate_lines():
    exc = _raise_from_candidate("def g(x):\n    return x / 0\n\ndef f():\n    return g(1.0)\n")
    c = classify_exception(exc, ["def g(x):", "    return x / 0", "", "def f():", "    return g(1.0)"])
    assert c.kind == "trace"
    assert c.line == 2
    assert "line 5, in f: return g(1.0)" in c.message
    assert "line 2, in g: return x / 0" in c.message
    assert "Hint: guard divisions" in c.message
    assert "/" not in c.message.split("Hint")[0].replace("x / 0", "")  # no paths of this machine


def test_classification_of_special_exceptions():
    assert classify_exception(MemoryError(), []).kind == "memory"
    oom = RuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 1 bytes")
    assert classify_exception(oom, []).kind == "memory"
    assert classify_exception(CpuTimeExceeded("2 s"), []).kind == "timeout"
    attr = classify_exception(AttributeError("'EnvState' object has no attribute 'vel'"), [], ("x", "v"))
    assert "state fields are: x, v" in attr.message


def test_jax_errors_get_hints():
    def f(x):
        if x > 0:
            return x
        return -x

    with pytest.raises(jax.errors.TracerBoolConversionError) as info:
        jax.jit(f)(1.0)
    c = classify_exception(info.value, [])
    assert c.kind == "trace" and "jnp.where" in c.message


def test_clean_text_removes_paths_and_links():
    text = "Error in /work/main/.venv/lib/python3.11/site-packages/jax/_src/core.py: bad\nSee https://jax.dev/x"
    out = clean_text(text)
    assert "/work" not in out and "https" not in out and "<path>" in out


def test_lines_of_returned_terms():
    source = (
        "def compute_reward(state, action, next_state):\n"
        "    a = 1.0\n"
        "    b = 2.0\n"
        "    b = b * 2\n"
        "    return a + b, {'a': a, 'b': b, 'c': a * 3}\n"
    )
    assert return_line(source) == 5
    assert value_line(source, "a") == 2
    assert value_line(source, "b") == 4
    assert value_line(source, "c") == 5
    assert value_line(source, "total") == 5
    assert value_line("not python (", "a") is None


# --- the restricted loader ---------------------------------------------------------------------------


GOOD = (
    "import jax\nimport jax.numpy as jnp\nfrom jax import lax\nfrom jax.numpy import where\nimport math\n"
    "from typing import Dict\n\n"
    "def compute_reward(state: EnvState, action, next_state) -> Dict[str, float]:\n"
    "    v = where(next_state > 0, jnp.cos(next_state), lax.abs(next_state)) * math.pi\n"
    "    return v, {'v': jax.nn.relu(v)}\n"
)


def test_restricted_loader_runs_allowed_code():
    fn = load_untrusted(GOOD)
    total, comps = jax.jit(fn)(None, 0, jnp.float32(0.5))
    assert float(total) == pytest.approx(float(jnp.cos(0.5) * jnp.pi))
    assert set(comps) == {"v"}


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("import os\n", ImportError),
        ("import numpy\n", ImportError),
        ("from jax import debug\n", ImportError),
        ("x = open\n", NameError),
        ("x = __import__('os')\n", ImportError),
        ("x = getattr\n", NameError),
        ("x = type\n", NameError),
        ("import jax.numpy as jnp\nx = jnp.load\n", AttributeError),
        ("import jax\nx = jax.debug\n", AttributeError),
        ("import jax\nx = jax.config\n", AttributeError),
        ("import jax\nx = jax.pure_callback\n", AttributeError),
        ("class A:\n    pass\n", NameError),  # no __build_class__
    ],
)
def test_restricted_loader_refuses_what_the_static_policy_forbids(source, error):
    """Defence in depth: even if the static policy missed something, the namespace does not have it."""
    with pytest.raises(error):
        load_untrusted(source + "\ndef compute_reward(state, action, next_state):\n    return 1.0, {}\n")


def test_module_proxies_are_fresh_for_every_program():
    load_untrusted("import jax.numpy as jnp\njnp.where = None\n"
                   "def compute_reward(state, action, next_state):\n    return 1.0, {}\n")
    fn = load_untrusted("import jax.numpy as jnp\n"
                        "def compute_reward(state, action, next_state):\n"
                        "    return jnp.where(True, 1.0, 0.0), {}\n")
    assert float(fn(None, None, None)[0]) == 1.0
    mods = guarded_modules()
    assert mods["jax"].numpy is mods["jax.numpy"]
    assert not hasattr(mods["jax.numpy"], "load")


def test_loader_reports_compile_errors_and_non_functions():
    with pytest.raises(ProgramLoadError) as info:
        load_untrusted("def compute_reward(state, action, next_state):\n    break\n")
    assert info.value.kind == "syntax" and info.value.line == 2
    with pytest.raises(ProgramLoadError) as info:
        load_untrusted("compute_reward = 3\n")
    assert info.value.kind == "signature"
