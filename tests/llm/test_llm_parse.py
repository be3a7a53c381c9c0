"""Code extraction: hand-written replies with exact answers, then property tests over generated text."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewardlab.llm.parse import extract_code

FN = "def compute_reward(s, a, ns):\n    return s.x, {}\n"


@pytest.mark.parametrize(
    ("reply", "code", "how"),
    [
        pytest.param(f"```python\n{FN}```", FN, "tagged 'python' defining", id="python-fence"),
        pytest.param(
            f"Sure! Here it is:\n\n```python\n{FN}```\n\nThis rewards speed.\n",
            FN,
            "tagged 'python'",
            id="chatter-around",
        ),
        pytest.param(f"```\n{FN}```", FN, "without a language tag", id="no-tag"),
        pytest.param(f"```Python3 title=reward.py\n{FN}```", FN, "tagged 'python3'", id="tag-with-attrs"),
        pytest.param(f"```{{.python}}\n{FN}```", FN, "tagged 'python'", id="pandoc-tag"),
        pytest.param(f"~~~py\n{FN}~~~", FN, "tagged 'py'", id="tilde-fence"),
        pytest.param(f"```text\n{FN}```", FN, "tagged 'text' defining", id="wrong-tag-but-defines"),
        pytest.param(f"````python\n```\n{FN}````", "```\n" + FN, "tagged 'python'", id="longer-outer-fence"),
        pytest.param(
            f"Usage:\n```python\nr, c = compute_reward(s, a, ns)\n```\nCode:\n```python\n{FN}```",
            FN,
            "defining",
            id="prefers-defining-block",
        ),
        pytest.param(
            f"```python\n{FN}```\nImproved:\n```python\n{FN.replace('s.x', 's.y')}```",
            FN,
            "defining",
            id="first-of-two-defining-blocks",
        ),
        pytest.param(
            '```json\n{"a": 1}\n```\n```python\nimport jax\n```',
            "import jax\n",
            "first Python block",
            id="python-block-without-target",
        ),
        pytest.param(
            "```bash\npip install x\n```\n```\nimport os\nx = 1\n```",
            "import os\nx = 1\n",
            "first untagged code block",
            id="untagged-code-block",
        ),
        pytest.param(
            f"```python\n{FN}",
            FN,
            "never closed",
            id="unterminated-fence",
        ),
        pytest.param(
            "```python\ndef compute_reward(s, a, ns):\n    total = (s.x +",
            "def compute_reward(s, a, ns):\n    total = (s.x +\n",
            "truncated",
            id="truncated-mid-expression",
        ),
        pytest.param(
            f"```python\r\n{FN.replace(chr(10), chr(13) + chr(10))}```\r\n", FN, "python", id="crlf"
        ),
        pytest.param(
            "```python\rdef compute_reward(x):\r    return x\r```",
            "def compute_reward(x):\n    return x\n",
            "python",
            id="old-mac-cr",
        ),
        pytest.param(
            "```python\ndef compute_reward(x):\n\treturn x\n```",
            "def compute_reward(x):\n\treturn x\n",
            "python",
            id="tab-indented-code",
        ),
        pytest.param(
            "\t```python\n\tdef compute_reward(x):\n\t\treturn x\n\t```",
            "def compute_reward(x):\n\treturn x\n",
            "python",
            id="tab-indented-fence",
        ),
        pytest.param(
            "1. Put this in reward.py:\n\n   ```python\n   def compute_reward(x):\n       return x\n   ```\n",
            "def compute_reward(x):\n    return x\n",
            "python",
            id="fence-inside-list-item",
        ),
        pytest.param(
            "```python\n\n\n    def compute_reward(x):\n        return x\n\n```",
            "def compute_reward(x):\n    return x\n",
            "python",
            id="uniformly-indented-code",
        ),
        pytest.param(
            "\ufeff```python\ndef compute_reward(x):\n    return x\n```",
            "def compute_reward(x):\n    return x\n",
            "python",
            id="byte-order-mark",
        ),
        pytest.param(f"Here is my answer.\n\n{FN}\nIt rewards speed.", FN, "bare def", id="bare-def-chatter"),
        pytest.param(
            "Reward:\nimport jax.numpy as jnp\n\n# shaped\n@jax.jit\n"
            "def compute_reward(s):\n    return jnp.sum(s)\nExplanation follows.",
            "import jax.numpy as jnp\n\n# shaped\n@jax.jit\ndef compute_reward(s):\n    return jnp.sum(s)\n",
            "bare def",
            id="bare-def-with-imports-and-decorator",
        ),
        pytest.param(
            "def compute_reward(\n    state,\n    action,\n) -> float:\n    doc = '''\nnot the end\n'''\n"
            "    return (state +\n1)\n\nThat's it.",
            "def compute_reward(\n    state,\n    action,\n) -> float:\n    doc = '''\nnot the end\n'''\n"
            "    return (state +\n1)\n",
            "bare def",
            id="bare-def-multiline-signature-and-strings",
        ),
        pytest.param(
            "def compute_reward(x): return x\nDone.",
            "def compute_reward(x): return x\n",
            "bare def",
            id="bare-one-liner",
        ),
        pytest.param(
            "    def compute_reward(x):\n        return x\n    # end\nbye",
            "def compute_reward(x):\n    return x\n",
            "bare def",
            id="bare-indented-def",
        ),
        pytest.param(
            "def compute_reward(x):\n    y = x\n# a comment at column 0\n\n    return y\n\nThanks!",
            "def compute_reward(x):\n    y = x\n# a comment at column 0\n\n    return y\n",
            "bare def",
            id="bare-def-comment-inside-body",
        ),
        pytest.param(
            "async def compute_reward(x):\n    return x\n",
            "async def compute_reward(x):\n    return x\n",
            "bare def",
            id="bare-async-def",
        ),
        pytest.param(
            "def compute_reward(x):\n    s = 'it''s # not a comment ('\n    return x\n```\nnotes",
            "def compute_reward(x):\n    s = 'it''s # not a comment ('\n    return x\n",
            "bare def",
            id="bare-def-strings-with-brackets",
        ),
        pytest.param(
            "<think>\nFirst try:\n```python\ndef compute_reward(x):\n    return 0\n```\n</think>\n"
            "```python\ndef compute_reward(x):\n    return 1\n```",
            "def compute_reward(x):\n    return 1\n",
            "<think> reasoning was skipped",
            id="reasoning-skipped",
        ),
        pytest.param(
            "```python\ndef compute_reward(x):\n    return 0\n```\n</think>\nSorry, out of time.",
            "def compute_reward(x):\n    return 0\n",
            "defining",
            id="only-code-is-in-reasoning",
        ),
    ],
)
def test_extracts(reply, code, how):
    result = extract_code(reply)
    assert result.reason is None, result.reason
    assert result.code == code
    assert how in result.how
    assert result.ok


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("", "the reply is empty"),
        ("  \n\t\r\n ", "the reply is empty"),
        (None, "the reply is not text (got NoneType)"),
        (b"def compute_reward(): pass", "the reply is not text (got bytes)"),
        ("I can't help with that.", "the reply contains no fenced code block and no 'def compute_reward('"),
        (
            "Use def compute_reward( carefully",
            "the reply contains no fenced code block and no 'def compute_reward('",
        ),
        ("```python\n```", "the reply's code blocks are empty"),
        ("```python\n   \n\n```\nok", "the reply's code blocks are empty"),
        (
            '```json\n{"a": 1}\n```',
            "the reply has code blocks (json) but none is Python or defines compute_reward()",
        ),
        (
            "```\nplain words here\n```",
            "the reply has code blocks (untagged) but none is Python or defines compute_reward()",
        ),
        (
            "def compute_rewards(x):\n    return x",
            "the reply contains no fenced code block and no 'def compute_reward('",
        ),
    ],
)
def test_reasons(reply, reason):
    result = extract_code(reply)
    assert result.code is None and not result.ok
    assert result.reason == reason


def test_function_name_is_a_parameter():
    reply = "```python\ndef helper():\n    pass\n```\n```python\ndef shaped_reward(x):\n    return x\n```"
    assert extract_code(reply, "shaped_reward").code == "def shaped_reward(x):\n    return x\n"
    assert "first Python block" in extract_code(reply).how
    assert extract_code("def f.*(x): pass", "f.*").code == "def f.*(x): pass\n"  # no regex injection


def test_internal_errors_become_a_reason(monkeypatch):
    import rewardlab.llm.parse as parse

    monkeypatch.setattr(parse, "_extract", lambda text, name: 1 / 0)
    result = parse.extract_code("```python\nx\n```")
    assert result.code is None
    assert result.reason == "code extraction failed unexpectedly (ZeroDivisionError: division by zero)"


# --- property tests --------------------------------------------------------------------------------------

FRAGMENTS = [
    "```",
    "```python",
    "```py\n",
    "~~~",
    "~~~python",
    "````",
    " ```",
    "\t```",
    "```json",
    "``` `x`",
    "def compute_reward(",
    "def compute_reward(x):",
    "async def compute_reward(",
    "):",
    "-> float:",
    "\n",
    "\r\n",
    "\r",
    "\t",
    "    ",
    "return x",
    "'''",
    '"""',
    "'",
    '"',
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "#",
    "\\",
    "<think>",
    "</think>",
    "@jit",
    "import os",
    "from x import y",
    "EOF",
    "\ufeff",
    "é",
    "\x00",
]
mixed_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=40).map("".join)


def check_invariants(result) -> None:
    assert (result.code is None) != (result.reason is None)
    if result.code is not None:
        assert isinstance(result.code, str)
        assert result.code.endswith("\n") and result.code.strip()
        assert "\r" not in result.code
        assert result.how
    else:
        assert isinstance(result.reason, str) and result.reason
        # The safety net in extract_code turns internal bugs into this reason: it must never be needed.
        assert not result.reason.startswith("code extraction failed unexpectedly"), result.reason


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(mixed_text, st.text(max_size=200)))
def test_never_raises_on_any_text(text):
    check_invariants(extract_code(text))


CHATTER_CHARS = st.characters(
    blacklist_characters="`~\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029", blacklist_categories=("Cs",)
)
chatter_line = st.text(CHATTER_CHARS, max_size=30).filter(lambda s: "</think>" not in s.lower())
identifier = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)


@st.composite
def functions(draw) -> str:
    """A small well-formed function named compute_reward with a random, indented body."""
    args = draw(st.lists(identifier, min_size=1, max_size=3, unique=True))
    body = draw(
        st.lists(
            st.sampled_from(
                ["x = 1", "y = (x +\n        2)", "s = 'a'", "if x:\n        pass", "z = [1,\n2]", "# note"]
            ),
            max_size=4,
        )
    )
    lines = [f"def compute_reward({', '.join(args)}):", *(f"    {b}" for b in body), f"    return {args[0]}"]
    return "\n".join(lines) + "\n"


@settings(max_examples=300, deadline=None)
@given(
    before=st.lists(chatter_line, max_size=3),
    fn=functions(),
    after=st.lists(chatter_line, max_size=3),
    tag=st.sampled_from(["python", "py", "", "Python3"]),
    fence=st.sampled_from(["```", "~~~", "````"]),
)
def test_fenced_function_comes_back_exactly(before, fn, after, tag, fence):
    reply = "\n".join([*before, f"{fence}{tag}", fn.rstrip("\n"), fence, *after])
    assert extract_code(reply).code == fn


prose_line = chatter_line.filter(
    lambda s: (
        bool(s.strip()) and not s[0].isspace() and not s.lstrip().startswith(("@", "#", "import", "from"))
    )
)


@settings(max_examples=300, deadline=None)
@given(
    before=st.lists(prose_line, max_size=3),
    fn=functions(),
    after=st.lists(prose_line, max_size=3),
    crlf=st.booleans(),
)
def test_bare_function_comes_back_exactly(before, fn, after, crlf):
    reply = "\n".join([*before, "", fn.rstrip("\n"), "", *after])
    if crlf:
        reply = reply.replace("\n", "\r\n")
    result = extract_code(reply)
    assert result.code == fn, result.how
    assert result.how.startswith("bare def")
