"""The static policy: what a reward program may contain, checked on its syntax tree alone.

The parent process never compiles or runs untrusted text; it only calls `ast.parse` (which builds a
tree and evaluates nothing, not even constant folding) and walks the tree iteratively. Everything
that needs execution happens later in a child process (`rewardlab.sandbox.probe`).

The policy is an allow-list where it can be one (imports, `jax.*` attributes) and a block-list where
reward code legitimately needs the open language (expressions, local names). It is not a proof of
safety: the child also runs with restricted builtins, guarded module proxies, an audit hook and
resource limits. Its job is to turn the common mistakes and the obvious attacks into a precise,
short message that names the rule and the line.
"""

from __future__ import annotations

import ast
import time
import warnings
from dataclasses import dataclass

from rewardlab.sandbox.allowlist import (
    ALLOWED_MODULES,
    BLOCKED_ATTRIBUTE_PREFIXES,
    BLOCKED_ATTRIBUTES,
    ENV_REWARD_PARAM,
    FORBIDDEN_NAMES,
    JAX_TOP_LEVEL,
    MAX_CONST_DIGITS,
    MAX_INT_LITERAL,
    MAX_PROBLEMS_SHOWN,
    MAX_SOURCE_BYTES,
    REWARD_FN_NAME,
    REWARD_PARAMS,
    SYSTEM_MODULES,
    TYPING_NAMES,
    UNAVAILABLE_MODULES,
)
from rewardlab.sandbox.consts import const_digits, const_value
from rewardlab.sandbox.report import CheckReport

_STATEMENT_NAMES: dict[type, str] = {
    ast.Expr: "a call or bare expression", ast.If: "an `if` block", ast.For: "a `for` loop",
    ast.While: "a `while` loop", ast.With: "a `with` block", ast.Try: "a `try` block",
    ast.Return: "a `return`", ast.Raise: "a `raise`", ast.Assert: "an `assert`", ast.Delete: "a `del`",
    ast.AugAssign: "an augmented assignment",
}
ALLOWED_MODULE_STATEMENTS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.Assign, ast.AnnAssign, ast.Pass)


@dataclass(frozen=True)
class Problem:
    """One rule violation at one line."""

    kind: str  # policy | signature
    rule: str
    line: int
    text: str


def check_static(source: str, name: str = "") -> CheckReport:
    """Apply the static policy to `source`; a failing report names the first problem's rule and line."""
    t0 = time.perf_counter()
    report = _check(source)
    return report.with_(name=name, seconds=time.perf_counter() - t0)


def _check(source: str) -> CheckReport:
    if not isinstance(source, str):
        return CheckReport.failure("syntax", "the reward program must be text", rule="syntax")
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > MAX_SOURCE_BYTES:
        msg = f"the program is {size} bytes long; the limit is {MAX_SOURCE_BYTES} bytes [size]"
        return CheckReport.failure("policy", msg, rule="size")
    tree_or_report = _parse(source)
    if isinstance(tree_or_report, CheckReport):
        return tree_or_report
    problems = _Walker(tree_or_report).run()
    if not problems:
        return CheckReport(ok=True, warnings=impurity_notes(tree_or_report))
    problems.sort(key=lambda p: (p.kind != "policy", p.line))
    first = problems[0]
    shown = [f"line {p.line}: {p.text} [{p.rule}]" for p in problems[:MAX_PROBLEMS_SHOWN]]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        shown.append(f"(and {len(problems) - MAX_PROBLEMS_SHOWN} more problems)")
    return CheckReport.failure(first.kind, "\n".join(shown), line=first.line, rule=first.rule)  # type: ignore[arg-type]


def _parse(source: str) -> ast.Module | CheckReport:
    try:
        with warnings.catch_warnings():  # e.g. invalid escape sequences: the child reports what matters
            warnings.simplefilter("ignore")
            return ast.parse(source, filename="<reward>")
    except SyntaxError as exc:
        line = exc.lineno
        text = (exc.text or "").strip()
        hint = ""
        stripped = source.lstrip()
        if stripped.startswith("```") or "\n```" in source:
            hint = " (remove the markdown ``` fences: send only Python code)"
        where = f"line {line}: " if line else ""
        shown = f": `{text[:120]}`" if text else ""
        msg = f"{where}{exc.msg}{shown}{hint} [syntax]"
        return CheckReport.failure("syntax", msg, line=line, rule="syntax")
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        msg = "the program is nested too deeply" if not isinstance(exc, ValueError) else str(exc)
        return CheckReport.failure("syntax", f"{msg} [syntax]", rule="syntax")


class _Walker:
    """One pass over the tree collecting every problem (iterative: no recursion on hostile depth)."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.problems: list[Problem] = []
        self.parents: dict[ast.AST, ast.AST] = {}
        self.aliases: dict[str, str] = {"jax": "jax", "jnp": "jax.numpy", "math": "math"}
        self.bound: set[str] = set()
        self.annotation_nodes: set[int] = set()

    def add(self, kind: str, rule: str, node: ast.AST | int, text: str) -> None:
        line = node if isinstance(node, int) else getattr(node, "lineno", 0)
        self.problems.append(Problem(kind, rule, line or 0, text))

    def run(self) -> list[Problem]:
        nodes = list(ast.walk(self.tree))
        for node in nodes:
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
        self._mark_annotations(nodes)
        self._module_level()
        self._collect_bindings(nodes)
        for node in nodes:
            if id(node) in self.annotation_nodes:
                continue
            self._node(node)
        self._signature()
        unique: dict[tuple[str, int, str], Problem] = {}
        for p in self.problems:
            unique.setdefault((p.rule, p.line, p.text), p)
        return list(unique.values())

    def _mark_annotations(self, nodes: list[ast.AST]) -> None:
        """Annotations are never evaluated (the child compiles with postponed annotations): skip them."""
        roots: list[ast.AST] = []
        for node in nodes:
            if isinstance(node, ast.arg) and node.annotation is not None:
                roots.append(node.annotation)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
                roots.append(node.returns)
            elif isinstance(node, ast.AnnAssign):
                roots.append(node.annotation)
        for root in roots:
            self.annotation_nodes.update(id(n) for n in ast.walk(root))

    # --- module level -----------------------------------------------------------------------------

    def _module_level(self) -> None:
        for stmt in self.tree.body:
            if isinstance(stmt, ALLOWED_MODULE_STATEMENTS):
                continue
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(
                stmt.value.value, str
            ):
                continue  # a docstring or a stray string
            if isinstance(stmt, ast.If) and "__name__" in ast.dump(stmt.test):
                self.add("policy", "module-level", stmt, "remove the `if __name__ == '__main__':` block; "
                         "define compute_reward and nothing that runs on import")
                continue
            if isinstance(stmt, ast.ClassDef | ast.AsyncFunctionDef):
                continue  # the `class` and `generator` rules report these
            what = _STATEMENT_NAMES.get(type(stmt), f"a `{type(stmt).__name__.lower()}` statement")
            self.add("policy", "module-level", stmt,
                     f"{what} at module level is not allowed: only imports, constants and function "
                     "definitions (nothing may run on import)")

    def _collect_bindings(self, nodes: list[ast.AST]) -> None:
        for node in nodes:
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
                self.bound.add(node.id)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.bound.add(node.name)
            elif isinstance(node, ast.arg):
                self.bound.add(node.arg)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                self.bound.add(node.name)
            elif isinstance(node, ast.alias):
                self.bound.add((node.asname or node.name).split(".")[0])

    # --- nodes ------------------------------------------------------------------------------------

    def _node(self, node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            self._import(node)
        elif isinstance(node, ast.ImportFrom):
            self._import_from(node)
        elif isinstance(node, ast.Name):
            self._name(node)
        elif isinstance(node, ast.Attribute):
            self._attribute(node)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            self.add("policy", "global", node,
                     "`global` and `nonlocal` are not allowed: compute_reward must be pure")
        elif isinstance(node, ast.ClassDef):
            self.add("policy", "class", node, "class definitions are not allowed: write functions only")
        elif isinstance(node, ast.ExceptHandler) and node.type is None:
            self.add("policy", "bare-except", node, "a bare `except:` is not allowed: name the exception")
        elif isinstance(node, ast.Match):  # class patterns read attributes by name, around these checks
            self.add("policy", "match", node, "match statements are not allowed: use jnp.where")
        elif isinstance(node, ast.Yield | ast.YieldFrom | ast.Await | ast.AsyncFunctionDef | ast.AsyncFor
                        | ast.AsyncWith):
            self.add("policy", "generator", node,
                     "generators and async code are not allowed in reward programs")
        elif isinstance(node, ast.Constant):
            self._constant(node)
        elif isinstance(node, ast.BinOp):
            self._binop(node)
        elif isinstance(node, ast.keyword) and node.arg and node.arg.startswith("__"):
            self.add("policy", "dunder", node, f"the keyword `{node.arg}` is not allowed")

    def _import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name not in ALLOWED_MODULES:
                self._bad_import(node, alias.name)
                continue
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                self.aliases[alias.name.split(".")[0]] = alias.name.split(".")[0]

    def _import_from(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level:
            self.add("policy", "import", node, "relative imports are not allowed")
            return
        names = [a.name for a in node.names]
        if module == "__future__":
            if names != ["annotations"]:
                self.add("policy", "import", node, "only `from __future__ import annotations` is allowed")
            return
        if module == "typing":
            bad = [n for n in names if n not in TYPING_NAMES]
            if bad:
                allowed = ", ".join(sorted(TYPING_NAMES))
                self.add("policy", "import", node,
                         f"from typing only {allowed} may be imported (not {', '.join(bad)})")
            return
        if module not in ALLOWED_MODULES:
            self._bad_import(node, module)
            return
        for alias in node.names:
            if alias.name == "*":
                self.add("policy", "import", node,
                         f"`from {module} import *` is not allowed: import names explicitly")
                continue
            full = f"{module}.{alias.name}"
            if full in ALLOWED_MODULES:
                self.aliases[alias.asname or alias.name] = full
            elif not self._path_ok(full, node):
                continue

    def _bad_import(self, node: ast.AST, module: str) -> None:
        top = module.split(".")[0]
        if top in UNAVAILABLE_MODULES:
            why = UNAVAILABLE_MODULES[top]
        elif top in SYSTEM_MODULES:
            why = "reward code may not use the operating system, files, the network or the interpreter"
        elif top == "jax":
            why = f"only these jax modules may be imported: {_allowed_list()}"
        else:
            why = f"allowed imports: {_allowed_list()}"
        self.add("policy", "import", node, f"importing `{module}` is not allowed: {why}")

    def _name(self, node: ast.Name) -> None:
        ident = node.id
        if ident in FORBIDDEN_NAMES:
            self.add("policy", "forbidden-name", node, f"`{ident}` is not allowed: {FORBIDDEN_NAMES[ident]}")
            return
        if ident.startswith("__") and ident.endswith("__"):
            self.add("policy", "dunder", node, f"the name `{ident}` is not allowed (no dunder names)")
            return
        if isinstance(node.ctx, ast.Load) and ident not in self.bound:
            if ident in UNAVAILABLE_MODULES:
                self.add("policy", "unavailable-module", node,
                         f"`{ident}` is not defined: {UNAVAILABLE_MODULES[ident]}")
                return
            if ident in SYSTEM_MODULES:
                self.add("policy", "unavailable-module", node,
                         f"`{ident}` is not available: reward code may only use jax, jnp and math")
                return
        module = self.aliases.get(ident)
        if module is not None and isinstance(node.ctx, ast.Load):
            parent = self.parents.get(node)
            if not (isinstance(parent, ast.Attribute) and parent.value is node):
                self.add("policy", "module-value", node,
                         f"use the module `{ident}` only as `{ident}.something`, not as a value")
        if module is not None and isinstance(node.ctx, ast.Store) and ident in ("jax", "jnp", "math"):
            self.add("policy", "module-value", node, f"do not assign to `{ident}`: it names a module")

    def _attribute(self, node: ast.Attribute) -> None:
        attr = node.attr
        if attr.startswith("_"):
            kind = "dunder" if attr.startswith("__") else "private-attribute"
            self.add("policy", kind, node,
                     f"the attribute `.{attr}` is not allowed (no private or dunder attributes)")
            return
        if isinstance(node.ctx, ast.Store | ast.Del):
            self.add("policy", "attribute-store", node,
                     f"assigning to `.{attr}` is not allowed: build new values instead of changing objects")
            return
        path = self._dotted(node)
        if path is None:
            if attr in BLOCKED_ATTRIBUTES or attr.startswith(BLOCKED_ATTRIBUTE_PREFIXES):
                self.add("policy", "forbidden-attribute", node,
                         f"the attribute `.{attr}` is not allowed in reward code (no files, callbacks or "
                         "interpreter internals)")
            return
        parent = self.parents.get(node)
        outermost = not (isinstance(parent, ast.Attribute) and parent.value is node)
        if outermost and self._path_ok(path, node) and path in ALLOWED_MODULES:
            self.add("policy", "module-value", node, f"use the module `{path}` only as `{path}.something`")

    def _dotted(self, node: ast.Attribute) -> str | None:
        """`jnp.linalg.norm` -> 'jax.numpy.linalg.norm' when the chain starts at an imported module."""
        parts: list[str] = []
        cur: ast.AST = node
        while isinstance(cur, ast.Attribute):
            parts.append(cur.attr)
            cur = cur.value
        if isinstance(cur, ast.Name) and cur.id in self.aliases:
            return ".".join([self.aliases[cur.id], *reversed(parts)])
        return None

    def _path_ok(self, path: str, node: ast.AST) -> bool:
        parts = path.split(".")
        written = _short(node) if isinstance(node, ast.Attribute) else path
        shown = f"`{written}`" if written == path else f"`{written}` ({path})"
        if parts[0] == "jax" and len(parts) > 1 and parts[1] not in JAX_TOP_LEVEL:
            allowed = ", ".join(sorted(JAX_TOP_LEVEL))
            self.add("policy", "jax-attribute", node, f"{shown} is not allowed: reward code may use "
                     f"jax.{{{allowed}}}")
            return False
        bad = [p for p in parts if p in BLOCKED_ATTRIBUTES or p.startswith("_")]
        if bad:
            self.add("policy", "forbidden-attribute", node, f"{shown} is not allowed in reward code")
            return False
        return True

    # --- constants --------------------------------------------------------------------------------

    def _constant(self, node: ast.Constant) -> None:
        v = node.value
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_INT_LITERAL:
            self.add("policy", "huge-constant", node, "integer literal is too large (more than 64 bits)")
        elif isinstance(v, str | bytes) and len(v) > 2000:
            self.add("policy", "huge-constant", node, "string literal is too long")

    def _binop(self, node: ast.BinOp) -> None:
        parent = self.parents.get(node)
        if isinstance(parent, ast.BinOp) and const_digits(parent) is not None:
            return  # the enclosing constant expression is judged as a whole
        digits = const_digits(node)
        if digits is None:
            if isinstance(node.op, ast.Mult):
                self._repeat(node)
            return
        if digits > MAX_CONST_DIGITS:
            self.add("policy", "huge-constant", node,
                     f"constant expression `{_short(node)}` is astronomically large (about 10^{digits:.3g}); "
                     "rewards need numbers of sensible size")

    def _repeat(self, node: ast.BinOp) -> None:
        """`[0] * 10**9` and `'x' * 10**9` build huge Python objects before jax ever sees them."""
        for seq, count in ((node.left, node.right), (node.right, node.left)):
            if isinstance(seq, ast.List | ast.Tuple) or (isinstance(seq, ast.Constant) and isinstance(
                seq.value, str | bytes
            )):
                n = const_value(count)
                if isinstance(n, int) and n > 1_000_000:
                    self.add("policy", "huge-constant", node,
                             f"`{_short(node)}` builds a sequence of {n:.3g} items: "
                             "use jnp arrays of sensible size")

    # --- the contract ---------------------------------------------------------------------------

    def _signature(self) -> None:
        defs = [s for s in self.tree.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)
                and s.name == REWARD_FN_NAME]
        want = ", ".join(REWARD_PARAMS)
        contract = f"`def {REWARD_FN_NAME}({want}):` returning (total, components)"
        for stmt in ast.walk(self.tree):
            targets: list[ast.AST] = []
            if isinstance(stmt, ast.Assign):
                targets = stmt.targets
            elif isinstance(stmt, ast.AnnAssign | ast.AugAssign):
                targets = [stmt.target]
            for t in targets:
                if isinstance(t, ast.Name) and t.id == REWARD_FN_NAME:
                    self.add("signature", "signature", stmt,
                             f"{REWARD_FN_NAME} must be defined once with def and never reassigned "
                             "(the engine jits it itself)")
        if not defs:
            self.add("signature", "signature", 1,
                     f"no top-level function {REWARD_FN_NAME}: define {contract}")
            return
        if len(defs) > 1:
            lines = ", ".join(str(d.lineno) for d in defs)
            self.add("signature", "signature", defs[1],
                     f"{REWARD_FN_NAME} is defined {len(defs)} times (lines {lines}); define it once")
        fn = defs[0]
        if isinstance(fn, ast.AsyncFunctionDef):
            self.add("signature", "signature", fn, f"{REWARD_FN_NAME} must be a plain def, not async")
            return
        a = fn.args
        names = [p.arg for p in (*a.posonlyargs, *a.args)]
        allowed = (REWARD_PARAMS, (*REWARD_PARAMS, ENV_REWARD_PARAM))
        if a.vararg or a.kwarg or a.kwonlyargs or a.defaults or tuple(names) not in allowed:
            got = ast.unparse(a) if len(ast.dump(a)) < 2000 else "..."
            self.add("signature", "signature", fn,
                     f"{REWARD_FN_NAME} must take exactly ({want}) in this order (optionally followed by "
                     f"{ENV_REWARD_PARAM}, the environment's own reward), got ({got})")
        if fn.decorator_list:
            self.add("signature", "signature", fn.decorator_list[0],
                     f"{REWARD_FN_NAME} must not be decorated: the engine applies jax.jit and jax.vmap")
        if not any(isinstance(n, ast.Return) and n.value is not None for n in _own_nodes(fn)):
            self.add("signature", "signature", fn,
                     f"{REWARD_FN_NAME} never returns a value: "
                     "it must `return total, {'name': value, ...}`")


MUTATING_METHODS = frozenset(
    {"append", "extend", "insert", "pop", "popitem", "remove", "clear", "update", "setdefault", "add",
     "discard"}
)
"""Methods that change a list, dict or set in place (`sort`/`reverse` are left out: jax arrays have
non-mutating methods of those names)."""


def impurity_notes(tree: ast.Module) -> tuple[str, ...]:
    """Warnings for functions that change module-level state (`history.append(x)`, `cache[k] = v`).

    Such state is not part of the transition: under `jax.jit` the change happens once, while tracing,
    not at every step, and every environment of the batch shares it. The policy already rejects
    `global`, attribute stores and module-level statements; what is left is mutating a module-level
    list, dict or set, which is legal Python and almost always a misunderstanding, so it is a note.
    """
    module_names: set[str] = set()
    for stmt in tree.body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(
            stmt, ast.AnnAssign) else []
        for target in targets:
            for node in ast.walk(target):
                if isinstance(node, ast.Name):
                    module_names.add(node.id)
    if not module_names:
        return ()
    notes: list[tuple[int, str]] = []
    for fn in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        own = _own_nodes(fn)
        local = {a.arg for a in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs)}
        local |= {n.id for n in own if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        shared = module_names - local
        for node in own:
            name, how = None, ""
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in MUTATING_METHODS and isinstance(node.func.value, ast.Name)):
                name, how = node.func.value.id, f"`{node.func.value.id}.{node.func.attr}(...)`"
            elif (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del)
                    and isinstance(node.value, ast.Name)):
                name, how = node.value.id, f"`{_short(node)}` (item assignment)"
            if name in shared:
                notes.append((node.lineno,
                    f"line {node.lineno}: {how} in {fn.name} changes the module-level `{name}`: state "
                    "kept between calls makes the reward impure (under jax.jit it changes once, while "
                    "tracing, not at every step, and all environments share it); compute the reward "
                    "from (state, action, next_state) alone [impure]",
                ))
    return tuple(dict.fromkeys(text for _, text in sorted(notes)))


def _own_nodes(fn: ast.FunctionDef) -> list[ast.AST]:
    """Nodes of `fn`'s body, not descending into nested functions or lambdas."""
    out: list[ast.AST] = []
    stack: list[ast.AST] = list(fn.body)
    while stack:
        node = stack.pop()
        out.append(node)
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
                stack.append(child)
    return out


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."


def _allowed_list() -> str:
    return ", ".join(sorted(ALLOWED_MODULES)) + " (and type names from typing)"
