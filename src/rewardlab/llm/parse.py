"""Find the reward function in an LLM's reply, whatever shape the reply takes.

Models wrap code in ```python fences, in bare ``` or ~~~ fences, in several blocks (an example, then the
function), with chatter before and after, or send a bare ``def`` with no fence at all; replies cut at
``max_tokens`` end inside an open fence. :func:`extract_code` handles all of these in one place and never
raises: it returns the code, or a reason the search loop can feed back to the model.

Reasoning models wrap drafts in ``<think>...</think>``; only the answer after it is searched, unless it holds
no code. Choice among blocks, in order: the first block that defines the wanted function; else the first block
tagged as Python; else the first untagged block that looks like code. With no usable block, a bare
``def NAME(`` is taken from the ``def`` (plus the imports and decorators just above it) to the end of the
function, found by indentation.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

DEFAULT_FUNCTION = "compute_reward"
PYTHON_TAGS = frozenset({"python", "py", "python3", "py3", "ipython", "python2", "sage"})
_OPENER = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_CLOSER = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*$")
_TAG = re.compile(r"[A-Za-z0-9_+#.-]+")
_CODE_LINE = re.compile(r"^[ \t]*(def |async def |class |import |from \S+ import |@|return\b)")
_IMPORT_LINE = re.compile(r"^(import[ \t]+[\w.]+|from[ \t]+[\w.]+[ \t]+import[ \t])")
TAB_SIZE = 8


@dataclass(frozen=True)
class ExtractResult:
    """Either ``code`` (a str ending in a newline) or a ``reason`` it could not be found; ``how`` says which
    rule matched, for logs and for telling apart a complete block from one cut off at the token limit."""

    code: str | None
    reason: str | None
    how: str = ""

    @property
    def ok(self) -> bool:
        return self.code is not None


@dataclass(frozen=True)
class _Block:
    tag: str
    lines: tuple[str, ...]
    closed: bool

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def extract_code(text: object, function_name: str = DEFAULT_FUNCTION) -> ExtractResult:
    """The code of the reward function in ``text``, or the reason there is none. Never raises."""
    try:
        return _extract(text, function_name)
    except Exception as exc:  # a bug here must not kill a search run; report it as a reason
        return ExtractResult(None, f"code extraction failed unexpectedly ({type(exc).__name__}: {exc})")


def _extract(text: object, name: str) -> ExtractResult:
    if not isinstance(text, str):
        return ExtractResult(None, f"the reply is not text (got {type(text).__name__})")
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        return ExtractResult(None, "the reply is empty")
    answer = _after_reasoning(text)
    if answer is not None:
        found = _extract_from(answer, name)
        if found.ok:
            return ExtractResult(found.code, None, found.how + "; the model's <think> reasoning was skipped")
    return _extract_from(text, name)


def _after_reasoning(text: str) -> str | None:
    """What follows the last ``</think>``: drafts in a reasoning model's thoughts must not beat its answer.

    Some servers strip the opening ``<think>`` tag, so only the closing one is relied on.
    """
    close = text.lower().rfind("</think>")
    if close == -1:
        return None
    rest = text[close + len("</think>") :]
    return rest if rest.strip() else None


def _extract_from(text: str, name: str) -> ExtractResult:
    lines = text.split("\n")
    defines = re.compile(rf"^[ \t]*(?:async[ \t]+)?def[ \t]+{re.escape(name)}[ \t]*\(", re.MULTILINE)
    blocks = [b for b in _fenced_blocks(lines) if _clean(b.lines)]

    chosen: tuple[_Block, str] | None = None
    for block in blocks:
        if defines.search(block.text):
            chosen = (block, f"fenced block {_label(block)} defining {name}()")
            break
    if chosen is None:
        for block in blocks:
            if block.tag in PYTHON_TAGS:
                chosen = (block, f"first Python block (no block defines {name}())")
                break
    if chosen is None:
        for block in blocks:
            if not block.tag and any(_CODE_LINE.match(line) for line in block.lines):
                chosen = (block, f"first untagged code block (no block defines {name}())")
                break
    if chosen is not None:
        block, how = chosen
        if not block.closed:
            how += "; the fence is never closed, so the reply may be truncated"
        return ExtractResult(_finish(block.lines), None, how)

    bare = _bare_function(lines, defines)
    if bare is not None:
        return ExtractResult(bare, None, f"bare def {name}() without a fence")
    if blocks:
        tags = ", ".join(sorted({b.tag or "untagged" for b in blocks}))
        return ExtractResult(
            None, f"the reply has code blocks ({tags}) but none is Python or defines {name}()"
        )
    if any(_OPENER.match(line) for line in lines):
        return ExtractResult(None, "the reply's code blocks are empty")
    return ExtractResult(None, f"the reply contains no fenced code block and no 'def {name}('")


def _fenced_blocks(lines: list[str]) -> list[_Block]:
    """CommonMark-style fences, leniently: any indentation, ``` or ~~~, closed by a longer-or-equal run."""
    blocks: list[_Block] = []
    i = 0
    while i < len(lines):
        opener = _OPENER.match(lines[i])
        if opener is None or (opener["fence"][0] == "`" and "`" in opener["info"]):
            i += 1
            continue
        fence = opener["fence"]
        width = _width(opener["indent"])
        body: list[str] = []
        closed = False
        j = i + 1
        while j < len(lines):
            closer = _CLOSER.match(lines[j])
            if closer and closer["fence"][0] == fence[0] and len(closer["fence"]) >= len(fence):
                closed = True
                break
            body.append(_strip_columns(lines[j], width))
            j += 1
        tag_match = _TAG.search(opener["info"].strip().lstrip("{."))
        tag = tag_match.group(0).lower() if tag_match else ""
        blocks.append(_Block(tag=tag, lines=tuple(body), closed=closed))
        i = j + 1
    return blocks


def _bare_function(lines: list[str], defines: re.Pattern[str]) -> str | None:
    """From ``def NAME(`` to the last line indented deeper than the ``def`` (brackets and strings kept)."""
    start = next((k for k, line in enumerate(lines) if defines.match(line)), None)
    if start is None:
        return None
    indent = _indent_of(lines[start])
    body: list[str] = []
    pending: list[str] = []  # blank and comment lines: part of the function only if code follows them
    state = _ScanState()
    for k in range(start, len(lines)):
        line = lines[k]
        continuing = state.depth > 0 or state.quote is not None
        if k > start and not continuing:
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                pending.append(line)
                continue
            if _indent_of(line) <= indent:
                break
        body += pending
        pending = []
        body.append(line)
        state = _scan(line, state)
    head: list[str] = []
    for k in range(start - 1, -1, -1):
        line = lines[k]
        stripped = line.strip()
        same_level = _indent_of(line) == indent
        if not stripped or (same_level and (stripped[0] in "@#" or _IMPORT_LINE.match(stripped))):
            head.insert(0, line)
        else:
            break
    return _finish(head + body)


@dataclass(frozen=True)
class _ScanState:
    depth: int = 0
    quote: str | None = None  # an open triple quote, which spans lines


def _scan(line: str, state: _ScanState) -> _ScanState:
    """Bracket depth and open triple-quoted string after ``line``; enough Python lexing to find an end."""
    depth, quote = state.depth, state.quote
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if quote is not None:
            if ch == "\\":
                i += 2
                continue
            if line.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
            i += 1
            continue
        if ch == "#":
            break
        if ch in "\"'":
            triple = ch * 3
            if line.startswith(triple, i):
                quote = triple
                i += 3
                continue
            end = _end_of_short_string(line, i + 1, ch)
            i = end
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(depth - 1, 0)
        i += 1
    return _ScanState(depth=depth, quote=quote)


def _end_of_short_string(line: str, i: int, quote: str) -> int:
    while i < len(line):
        if line[i] == "\\":
            i += 2
        elif line[i] == quote:
            return i + 1
        else:
            i += 1
    return len(line)


def _finish(lines: list[str] | tuple[str, ...]) -> str | None:
    kept = _clean(lines)
    if not kept:
        return None
    return textwrap.dedent("\n".join(kept)) + "\n"


def _clean(lines: list[str] | tuple[str, ...]) -> list[str]:
    """The lines without leading and trailing blank ones."""
    first = next((k for k, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return []
    last = max(k for k, line in enumerate(lines) if line.strip())
    return list(lines[first : last + 1])


def _label(block: _Block) -> str:
    return f"tagged {block.tag!r}" if block.tag else "without a language tag"


def _width(indent: str) -> int:
    return len(indent.expandtabs(TAB_SIZE))


def _indent_of(line: str) -> int:
    return _width(line[: len(line) - len(line.lstrip(" \t"))])


def _strip_columns(line: str, width: int) -> str:
    """Remove up to ``width`` columns of leading whitespace (the fence's own indentation)."""
    column = 0
    i = 0
    while i < len(line) and column < width and line[i] in " \t":
        step = TAB_SIZE - column % TAB_SIZE if line[i] == "\t" else 1
        if column + step > width:
            break
        column += step
        i += 1
    return line[i:]
