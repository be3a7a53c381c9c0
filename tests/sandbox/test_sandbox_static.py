"""The static policy: rules with hand-written examples, and robustness on arbitrary text."""

from __future__ import annotations

import builtins

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardlab import tasks
from rewardlab.rewards import program as contract
from rewardlab.sandbox import allowlist, check_static
from rewardlab.sandbox.consts import const_digits

HEAD = (
    "import jax\nimport jax.numpy as jnp\nimport math\n\n\n"
    "def compute_reward(state, action, next_state):\n"
)
BODY_LINE = 7  # line of the first body line below HEAD


def body(*lines: str) -> str:
    return HEAD + "".join(f"    {ln}\n" for ln in lines)


GOOD = body("r = jnp.cos(next_state.theta)", "return r, {'upright': r}")


def test_contract_constants_match_the_reward_module():
    assert allowlist.REWARD_FN_NAME == contract.REWARD_FN_NAME
    assert allowlist.REWARD_PARAMS == contract.REWARD_PARAMS


@pytest.mark.parametrize("task", tasks.names())
@pytest.mark.parametrize("which", ["human", "sparse"])
def test_baseline_programs_pass(task, which):
    report = check_static(tasks.get(task).baseline(which).source)
    assert report.ok, report.message
    assert not report.warnings  # no impurity note on a pure program


@pytest.mark.parametrize(
    "source",
    [
        GOOD,
        body("return jax.nn.sigmoid(next_state.x), {}"),
        body("v = jax.lax.clamp(-1.0, next_state.x, 1.0)", "return v, {'v': v}"),
        "from jax import numpy as np2, lax\n\ndef compute_reward(state, action, next_state):\n"
        "    return np2.tanh(lax.abs(next_state.x)), {}\n",
        "from jax.numpy import where\nfrom math import pi\n\ndef compute_reward(state, action, next_state):\n"
        "    return where(next_state.x > pi, 1.0, 0.0), {}\n",
        "from __future__ import annotations\nfrom typing import Dict, Tuple\nimport jax.numpy as jnp\n\n"
        "SCALE = 0.5\n\ndef helper(x):\n    return x * SCALE\n\n"
        "def compute_reward(state, action, next_state) -> Tuple[float, Dict[str, float]]:\n"
        "    '''Docstring.'''\n    return helper(next_state.x), {}\n",
        body("xs = [next_state.x * i for i in range(3)]",
             "return sum(xs), {f'x{i}': v for i, v in enumerate(xs)}"),
        body("big = 10 ** 6", "return next_state.x / big, {}"),
        body("key = jax.random.PRNGKey(0)", "return jax.random.uniform(key), {}"),
        body("return jax.scipy.special.expit(next_state.x), {}"),
    ],
)
def test_reasonable_programs_pass(source):
    report = check_static(source)
    assert report.ok, report.message


@pytest.mark.parametrize(
    ("source", "kind", "rule", "line"),
    [
        ("def compute_reward(state, action, next_state)\n    return 1, {}\n", "syntax", "syntax", 1),
        ("x = 1\0\n", "syntax", "syntax", None),
        ("import os\n" + GOOD, "policy", "import", 1),
        ("from os import path\n" + GOOD, "policy", "import", 1),
        ("import jax.experimental\n" + GOOD, "policy", "import", 1),
        ("from . import thing\n" + GOOD, "policy", "import", 1),
        ("from typing import get_type_hints\n" + GOOD, "policy", "import", 1),
        ("from __future__ import braces\n" + GOOD, "policy", "import", 1),
        (body("open('x')", "return 1.0, {}"), "policy", "forbidden-name", BODY_LINE),
        (body("f = getattr", "return 1.0, {}"), "policy", "forbidden-name", BODY_LINE),
        (body("t = type(state)", "return 1.0, {}"), "policy", "forbidden-name", BODY_LINE),
        (body("v = vars()", "return 1.0, {}"), "policy", "forbidden-name", BODY_LINE),
        (body("b = __builtins__", "return 1.0, {}"), "policy", "dunder", BODY_LINE),
        (body("c = state.__class__", "return 1.0, {}"), "policy", "dunder", BODY_LINE),
        (body("c = jnp._src", "return 1.0, {}"), "policy", "private-attribute", BODY_LINE),
        (body("f = jax.debug.print", "return 1.0, {}"), "policy", "jax-attribute", BODY_LINE),
        (body("f = jax.pure_callback", "return 1.0, {}"), "policy", "jax-attribute", BODY_LINE),
        (body("f = jax.config", "return 1.0, {}"), "policy", "jax-attribute", BODY_LINE),
        (body("w = jnp.load('w.npy')", "return 1.0, {}"), "policy", "forbidden-attribute", BODY_LINE),
        (body("g = (i for i in [1])", "f = g.gi_frame", "return 1.0, {}"),
         "policy", "forbidden-attribute", 8),
        (body("s = '{0}'.format(1)", "return 1.0, {}"), "policy", "forbidden-attribute", BODY_LINE),
        (body("state.x = 1.0", "return 1.0, {}"), "policy", "attribute-store", BODY_LINE),
        (body("m = jnp", "return 1.0, {}"), "policy", "module-value", BODY_LINE),
        (body("m = jax.numpy", "return 1.0, {}"), "policy", "module-value", BODY_LINE),
        (body("global G", "return 1.0, {}"), "policy", "global", BODY_LINE),
        (body("try:", "    x = 1.0", "except:", "    x = 0.0", "return x, {}"), "policy", "bare-except", 9),
        (body("match state:", "    case int(__class__=c):", "        pass", "return 1.0, {}"),
         "policy", "match", BODY_LINE),
        (body("yield 1.0"), "policy", "generator", BODY_LINE),
        (body("return np.cos(next_state.x), {}"), "policy", "unavailable-module", BODY_LINE),
        (body("return os.getpid(), {}"), "policy", "unavailable-module", BODY_LINE),
        (body("x = 2 ** 2 ** 2 ** 2 ** 2", "return 1.0, {}"), "policy", "huge-constant", BODY_LINE),
        (body("x = 1 << 10 ** 6", "return 1.0, {}"), "policy", "huge-constant", BODY_LINE),
        (body("x = 'ab' * 10 ** 8", "return 1.0, {}"), "policy", "huge-constant", BODY_LINE),
        (body("x = 99999999999999999999999", "return 1.0, {}"), "policy", "huge-constant", BODY_LINE),
        ("class A:\n    pass\n" + GOOD, "policy", "class", 1),
        ("for i in range(3):\n    pass\n" + GOOD, "policy", "module-level", 1),
        (GOOD + "compute_reward(1, 2, 3)\n", "policy", "module-level", 9),
        ("import jax.numpy as jnp\n", "signature", "signature", 1),
        ("def compute_reward(state, action):\n    return 1.0, {}\n", "signature", "signature", 1),
        ("def compute_reward(s, a, ns):\n    return 1.0, {}\n", "signature", "signature", 1),
        ("def compute_reward(state, action, next_state, *, k=1):\n    return 1.0, {}\n",
         "signature", "signature", 1),
        ("async def compute_reward(state, action, next_state):\n    return 1.0, {}\n",
         "policy", "generator", 1),
        ("def compute_reward(state, action, next_state):\n    pass\n", "signature", "signature", 1),
        (GOOD + "compute_reward = jax.jit(compute_reward)\n", "signature", "signature", 9),
    ],
)
def test_rejections_name_rule_and_line(source, kind, rule, line):
    report = check_static(source)
    assert not report.ok
    assert (report.kind, report.rule, report.line) == (kind, rule, line), report.message
    assert f"[{rule}]" in report.message
    if line is not None:
        assert report.message.startswith(f"line {line}")


def test_impure_programs_pass_with_a_note():
    source = (
        "import jax.numpy as jnp\n\nseen = []\ntotals = {'n': 0}\nSCALE = 2.0\n\n"
        "def helper(x):\n    seen.append(x)\n    return x\n\n"
        "def compute_reward(state, action, next_state):\n"
        "    totals['n'] += 1\n"
        "    local = []\n    local.append(1)\n"  # a local list: fine
        "    seen = [0]\n"  # shadows the module's name inside this function
        "    seen.append(2)\n"
        "    r = SCALE * helper(jnp.cos(next_state.theta))\n"
        "    return r, {'up': r}\n"
    )
    report = check_static(source)
    assert report.ok
    assert [w.split(":")[0] for w in report.warnings] == ["line 8", "line 12"]
    assert "`seen.append(...)` in helper changes the module-level `seen`" in report.warnings[0]
    assert "totals" in report.warnings[1] and all(w.endswith("[impure]") for w in report.warnings)
    assert check_static(GOOD).warnings == ()


def test_size_limit():
    source = GOOD + "\n".join(f"C{i} = {i}" for i in range(3000)) + "\n"
    assert len(source) > allowlist.MAX_SOURCE_BYTES
    report = check_static(source)
    assert (report.kind, report.rule) == ("policy", "size")


def test_several_problems_are_listed_up_to_a_limit():
    lines = [f"v{i} = open('f{i}')" for i in range(8)] + ["return 1.0, {}"]
    report = check_static(body(*lines))
    shown = report.message.splitlines()
    assert len(shown) == allowlist.MAX_PROBLEMS_SHOWN + 1
    assert shown[-1] == "(and 3 more problems)"


def test_policy_problems_come_before_signature_problems():
    report = check_static("import os\n\ndef compute_reward(a, b, c):\n    return 1, {}\n")
    assert report.kind == "policy"
    assert "[signature]" in report.message


def test_parent_never_compiles_or_executes(monkeypatch):
    """check_static must only parse: compile/exec/eval of untrusted text in the parent is forbidden."""

    def refuse(*args, **kwargs):
        raise AssertionError("check_static compiled or executed candidate code")

    for name in ("exec", "eval"):
        monkeypatch.setattr(builtins, name, refuse)
    real_compile = builtins.compile

    def only_ast(source, filename, mode, flags=0, *args, **kwargs):
        import ast

        if not flags & ast.PyCF_ONLY_AST:
            raise AssertionError("check_static compiled candidate code to bytecode")
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "compile", only_ast)
    assert check_static(GOOD).ok
    assert not check_static(body("x = 10 ** 10 ** 10", "return x, {}")).ok


def test_constant_estimates_never_compute_big_numbers():
    import ast

    def digits(expr: str) -> float | None:
        return const_digits(ast.parse(expr, mode="eval").body)

    assert digits("10 ** 3") == pytest.approx(3)
    assert digits("10 ** 10 ** 10") == pytest.approx(1e10)
    assert digits("2 ** (0 ** -1)") is not None  # division by zero inside: estimated, not raised
    assert digits("x ** 2") is None


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_gives_a_report_not_an_exception(text):
    report = check_static(text)
    assert report.ok or report.kind in ("syntax", "policy", "signature")


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_mutilated_programs_give_a_report_not_an_exception(data):
    source = tasks.get("CartPole-v1").human.source
    start = data.draw(st.integers(0, len(source)))
    stop = data.draw(st.integers(start, min(len(source), start + 40)))
    insert = data.draw(
        st.sampled_from(["", "(", ")", ":", "**", "__", "'", "\n    ", "import os\n", "10**10**10"])
    )
    report = check_static(source[:start] + insert + source[stop:])
    assert report.ok or report.kind in ("syntax", "policy", "signature")
    if not report.ok:
        assert report.message and report.rule
