"""The reward-removing transform: an environment's source, sliced and with its reward taken out (AST).

Used by `rewardlab.tasks.context` to build what an LLM is shown about a task.

The code shown is a slice of the module that defines the environment class: the class plus the
module-level definitions it uses, transitively (dataclasses, helper functions and the helpers those
call, constants, and the imports that bind names the kept code reads), in source order, after the
module docstring. Everything else in the file is left out: a user's `make_task()` factory and the
reward programs it holds in strings, training scripts, `if __name__ == "__main__":` blocks, classes
and functions the environment never references, module-level statements that define nothing.

Where the reward is: the class's step method (`EnvAdapter.step_method`, found in the class or in a
base class defined in the same module) returns `(obs, state, reward, terminated, info)` tuples, so
the third element of every returned tuple is the environment's reward. The names that slot reads are
reward names whatever they are called (`r`, `cost`, ...), except names the observation, the next
state or the termination flag also depend on (a distance used by both the reward and the termination
test is dynamics, and stays). Names containing "reward" are reward names everywhere.

What the transform removes, in each function it keeps:
* every statement that assigns a reward name, or whose value reads such a name or a value derived
  from one (taint flows forward through assignments);
* assignments whose only readers were removed statements (dead code left behind, e.g. CartPole's
  `prev_terminal`), repeated until nothing changes;
* the reward slot of every tuple the step method returns becomes `...` (whatever expression was
  there), as does any other returned tuple element that reads a reward value, so tuples keep their
  shape;
* methods and functions named like a reward; module functions and methods (`self.cost(...)`) that
  only removed code called (Pendulum's `angle_normalize`), and whatever only they used; docstrings
  that mention rewards; every comment (`ast.unparse` drops them).

When the reward cannot be located (no step method in sight, a return that is not a literal 5-tuple,
a step method that delegates to another function) the transform raises `ContextError` saying so and
how to go on: give the task its own context text (`from_gymnax(..., context="...")`). Two final checks
refuse to return code that still contains the word "reward", or a step method whose reward slot is not
`...` in every return.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

_REWARD = re.compile("reward", re.IGNORECASE)
_NOISE_METHODS = frozenset({"state_space", "render"})
# Methods rewardlab or gymnax call from outside the visible code: never dropped as reward-only helpers.
_API_METHODS = frozenset({
    "__init__", "default_params", "reset_env", "step_env", "get_obs", "is_terminal", "is_terminated",
    "is_truncated", "discount", "action_space", "observation_space", "name", "num_actions",
})
REMEDY = 'pass context="..." to from_gymnax (the text the LLM is shown instead of the environment code)'


class ContextError(RuntimeError):
    """The environment's source could not be turned into a reward-free context."""


@dataclass(frozen=True)
class RewardAnchor:
    """Where the environment's reward is: the class (defined at the top level of the source), the name of
    its step method (whose returns are `(obs, state, reward, terminated, info)`), and the file, for
    messages."""

    cls: str
    method: str
    file: str = "its module"
    slot: int = 2  # index of the reward in the returned 5-tuple: 2 for gymnax, 1 for Gymnasium's step

    @property
    def dynamics_slots(self) -> tuple[int, ...]:
        """Indices of the returned tuple that carry dynamics (observation, state, termination flags)."""
        return tuple(i for i in range(4) if i != self.slot)


# --- the transform ------------------------------------------------------------------------------------


def strip_reward(source: str, anchor: RewardAnchor | None = None) -> str:
    """`source` with every reward computation removed (see the module docstring).

    With an `anchor`, only the anchor's class and what it uses are kept, and the step method's reward
    slot is blanked; without one (e.g. for a file of helpers) the whole module is cleaned by name only.
    """
    tree = ast.parse(source)
    _drop_docstring(tree)
    slots = _reward_slots(tree.body, anchor) if anchor is not None else {}
    removed = _Removed()
    kept: list[ast.stmt] = []
    for stmt in tree.body:
        named = isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        if named and _REWARD.search(stmt.name) and not (anchor and stmt.name == anchor.cls):
            removed.add(stmt)
            continue
        if isinstance(stmt, ast.ClassDef):
            _strip_class(stmt, removed, slots)
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            _strip_function(stmt, removed)
        kept.append(stmt)
    tree.body = _prune(kept, anchor.cls if anchor else None, removed)
    code = ast.unparse(ast.fix_missing_locations(tree))
    _check_clean(code, tree, anchor)
    return code + "\n"


def _check_clean(code: str, tree: ast.Module, anchor: RewardAnchor | None) -> None:
    """The last line of defence: no word "reward" anywhere, and `...` in every reward slot."""
    remedy = f"; {REMEDY}" if anchor else ""
    if _REWARD.search(code):
        raise ContextError(f"reward code is still present after the transform: {_first_match(code)}{remedy}")
    if anchor is None:
        return
    _, method = _find_step_method(tree.body, anchor)
    for ret in _own_returns(method):
        five = isinstance(ret.value, ast.Tuple) and len(ret.value.elts) == 5
        slot = ret.value.elts[anchor.slot] if five else None
        if not (isinstance(slot, ast.Constant) and slot.value is Ellipsis):
            raise ContextError(
                f"{anchor.cls}.{anchor.method} still returns a reward after the transform (line {ret.lineno} "
                f"of {anchor.file}){remedy}"
            )


# --- finding the reward slot ---------------------------------------------------------------------------


def _reward_slots(body: list[ast.stmt], anchor: RewardAnchor) -> dict[ast.AST, tuple[int, frozenset[str]]]:
    """{step method: the local names its reward slot reads that nothing else it returns depends on}.

    Raises ContextError, naming the class, the method and the reason, when the reward cannot be located.
    """
    owner, method = _find_step_method(body, anchor)
    where = "it" if owner == anchor.cls else f"{owner}.{anchor.method}, which {anchor.cls} inherits,"
    returns = _own_returns(method)
    if not returns:
        raise _not_found(anchor, f"{where} has no return statement")
    for ret in returns:
        value = ret.value
        if not (isinstance(value, ast.Tuple) and len(value.elts) == 5
                and not any(isinstance(e, ast.Starred) for e in value.elts)):
            shown = ast.unparse(value) if value is not None else "None"
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise _not_found(
                anchor, f"{where} returns `{shown}` (line {ret.lineno}), not a literal 5-tuple "
                "(obs, state, reward, terminated, info)"
            )
    return {method: (anchor.slot, frozenset(_slot_reward_names(method, returns, anchor)))}


def _find_step_method(
    body: list[ast.stmt], anchor: RewardAnchor
) -> tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """(owning class, method): the anchor's step method, in its class or a base class defined in `body`."""
    classes = {s.name: s for s in body if isinstance(s, ast.ClassDef)}  # the last definition wins
    if anchor.cls not in classes:
        raise _not_found(anchor, f"class {anchor.cls} is not defined at the top level of {anchor.file}")
    todo, seen = [anchor.cls], set()
    while todo:
        name = todo.pop(0)
        if name in seen or name not in classes:
            continue
        seen.add(name)
        for stmt in classes[name].body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name == anchor.method:
                return name, stmt
        todo.extend(_base_name(b) for b in classes[name].bases)
    why = f"{anchor.cls} has no {anchor.method}() of its own or in a base class defined in {anchor.file}"
    raise _not_found(anchor, why)


def _base_name(base: ast.expr) -> str:
    """`Base` for the bases `Base` and `Base[EnvState, EnvParams]`; "" for bases from other modules."""
    if isinstance(base, ast.Subscript):
        base = base.value
    return base.id if isinstance(base, ast.Name) else ""


def _not_found(anchor: RewardAnchor, why: str) -> ContextError:
    return ContextError(
        f"cannot find the reward of {anchor.cls}.{anchor.method} in {anchor.file}: {why}; {REMEDY}"
    )


def _elements(ret: ast.Return) -> list[ast.expr]:
    """The elements of a step method's returned tuple (`_reward_slots` checked that it is a 5-tuple)."""
    assert isinstance(ret.value, ast.Tuple)
    return ret.value.elts


def _own_returns(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Return]:
    """The return statements of `fn` itself (not of functions or lambdas nested in it), in source order."""
    return sorted((n for n in _own_nodes(fn) if isinstance(n, ast.Return)), key=lambda n: n.lineno)


def _slot_reward_names(
    fn: ast.FunctionDef | ast.AsyncFunctionDef, returns: list[ast.Return], anchor: RewardAnchor
) -> set[str]:
    """Local names read in the reward slot, less those the obs, state or termination slots depend on.

    A name both the reward and, say, the termination test read (a distance) is dynamics: removing it
    would blank the termination too. The slot itself becomes `...` whatever it reads.
    """
    local = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    local -= {a.arg for a in _all_args(fn.args)}
    in_slot = set().union(*(_reads(_elements(r)[anchor.slot]) for r in returns)) & local
    outputs = set().union(*(_reads(_elements(r)[i]) for r in returns for i in anchor.dynamics_slots))
    return in_slot - _depends_on(fn.body, outputs)


def _depends_on(body: list[ast.stmt], names: set[str]) -> set[str]:
    """`names` and every name they are computed from in `body`, through assignments and the conditions
    and loops those assignments sit in (statement order ignored: an over-estimate keeps more code)."""
    sources: dict[str, set[str]] = {}
    _collect_sources(body, set(), sources)
    needed, todo = set(names), list(names)
    while todo:
        for src in sources.get(todo.pop(), ()):
            if src not in needed:
                needed.add(src)
                todo.append(src)
    return needed


def _collect_sources(body: list[ast.stmt], context: set[str], sources: dict[str, set[str]]) -> None:
    """{assigned name: names its value (and the enclosing if/for/while/with headers) read}."""
    for stmt in body:
        if isinstance(stmt, ast.Assign | ast.AugAssign | ast.AnnAssign):
            for target in _targets(stmt):
                sources.setdefault(target, set()).update(_reads(stmt.value) | context)
            continue
        header: set[str] = set()
        if isinstance(stmt, ast.If | ast.While):
            header = _reads(stmt.test)
        elif isinstance(stmt, ast.For | ast.AsyncFor):
            header = _reads(stmt.iter)
            for target in _names(stmt.target):
                sources.setdefault(target, set()).update(header | context)
        elif isinstance(stmt, ast.With | ast.AsyncWith):
            header = set().union(*(_reads(item.context_expr) for item in stmt.items))
        for block in _blocks(stmt):
            _collect_sources(block, context | header, sources)


# --- removing reward code from functions ---------------------------------------------------------------


@dataclass
class _Removed:
    """What removed code read: names (locals, module helpers) and attributes (methods called as `self.x`).

    Code that only removed code read is reward code too: dead assignments, helpers, methods.
    """

    names: set[str] = field(default_factory=set)
    attrs: set[str] = field(default_factory=set)

    def add(self, node: ast.AST | None) -> None:
        if node is not None:
            self.names |= _reads(node)
            self.attrs |= {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}

    def update(self, other: _Removed) -> None:
        self.names |= other.names
        self.attrs |= other.attrs


@dataclass
class _Taint:
    """Within one function: names that hold reward values (grows forward through assignments), and the
    reward slot's names, whose assignments are removed whatever they are called."""

    names: set[str]
    slot_names: frozenset[str] = frozenset()

    def is_reward_name(self, name: str) -> bool:
        return bool(_REWARD.search(name)) or name in self.slot_names


def _strip_class(
    cls: ast.ClassDef, removed: _Removed, slots: dict[ast.AST, tuple[int, frozenset[str]]]
) -> None:
    _drop_docstring(cls)
    body: list[ast.stmt] = []
    for stmt in cls.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            if _REWARD.search(stmt.name) or stmt.name in _NOISE_METHODS:
                removed.add(stmt)
                continue
            _strip_function(stmt, removed, slots.get(stmt))
        elif isinstance(stmt, ast.Assign | ast.AnnAssign) and _mentions_reward(stmt):
            removed.add(stmt)
            continue
        body.append(stmt)
    cls.body = body or [ast.Pass()]


def _strip_function(
    fn: ast.FunctionDef | ast.AsyncFunctionDef,
    removed: _Removed,
    slot: tuple[int, frozenset[str]] | None = None,
) -> None:
    """Remove reward statements from `fn` in place, recording what the removed code read in `removed`.

    `slot` (index, names) is given for the step method only: that element of every returned tuple is
    blanked and the names it read are tainted.
    """
    _drop_docstring(fn)
    own = _Removed()
    slot_names = slot[1] if slot is not None else None
    if slot is not None:
        for ret in _own_returns(fn):
            own.add(_elements(ret)[slot[0]])
            _elements(ret)[slot[0]] = ast.Constant(...)
    _drop_reward_params(fn.args)
    taint = _Taint(set(slot_names or ()), slot_names or frozenset())
    fn.body = _strip_block(fn.body, taint, own)
    _drop_dead(fn, own)
    removed.update(own)


def _drop_reward_params(args: ast.arguments) -> None:
    """Remove optional parameters named like a reward (Gymnasium's `healthy_reward=1.0`, CartPole's
    `sutton_barto_reward=False`): reward settings, and the statements that use them go too."""
    n_plain = len(args.args) - len(args.defaults)
    keep = [i for i, a in enumerate(args.args) if i < n_plain or not _REWARD.search(a.arg)]
    args.defaults = [args.defaults[i - n_plain] for i in keep if i >= n_plain]
    args.args = [args.args[i] for i in keep]
    pairs = [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
             if d is None or not _REWARD.search(a.arg)]
    args.kwonlyargs = [a for a, _ in pairs]
    args.kw_defaults = [d for _, d in pairs]


def _strip_block(body: list[ast.stmt], taint: _Taint, removed: _Removed) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for stmt in body:
        if isinstance(stmt, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = _targets(stmt)
            value = stmt.value
            reward_target = any(taint.is_reward_name(t) for t in targets)
            if reward_target or _reads(value) & taint.names or _mentions_reward(value):
                taint.names |= targets
                removed.add(value)
                continue
        elif isinstance(stmt, ast.Return) and stmt.value is not None:
            stmt.value = _blank_tainted(stmt.value, taint.names, removed)
        elif isinstance(stmt, ast.If | ast.For | ast.While | ast.With | ast.Try):
            for attr in ("body", "orelse", "finalbody"):
                block = getattr(stmt, attr, None)
                if block:
                    setattr(stmt, attr, _strip_block(block, taint, removed) or [ast.Pass()])
            if _reads(getattr(stmt, "test", None) or getattr(stmt, "iter", None)) & taint.names:
                removed.add(stmt)
                continue
        elif _reads(stmt) & taint.names or _mentions_reward(stmt):
            removed.add(stmt)
            continue
        out.append(stmt)
    return out


def _blank_tainted(value: ast.expr, tainted: set[str], removed: _Removed) -> ast.expr:
    """A returned reward becomes `...`; inside a tuple only the reward element does."""
    if isinstance(value, ast.Tuple):
        elts = []
        for e in value.elts:
            if _reads(e) & tainted or _mentions_reward(e):
                removed.add(e)
                elts.append(ast.Constant(...))
            else:
                elts.append(e)
        value.elts = elts
        return value
    if _reads(value) & tainted or _mentions_reward(value):
        removed.add(value)
        return ast.Constant(...)
    return value


def _drop_dead(fn: ast.FunctionDef | ast.AsyncFunctionDef, removed: _Removed) -> None:
    """Remove simple assignments to names that only removed code read, until nothing changes."""
    while True:
        loads = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        dead = {name for name in removed.names if name not in loads}
        changed = False
        for node in ast.walk(fn):
            for attr in ("body", "orelse", "finalbody"):
                block = getattr(node, attr, None)
                if not isinstance(block, list):
                    continue
                keep = []
                for stmt in block:
                    if isinstance(stmt, ast.Assign) and _targets(stmt) and _targets(stmt) <= dead:
                        removed.add(stmt.value)
                        changed = True
                        continue
                    keep.append(stmt)
                if len(keep) != len(block):
                    setattr(node, attr, keep or [ast.Pass()])
        if not changed:
            return


# --- keeping what the environment uses -----------------------------------------------------------------


def _prune(body: list[ast.stmt], root: str | None, removed: _Removed) -> list[ast.stmt]:
    """Slice the module down to `root` and its dependencies, and drop what only reward code used.

    The two alternate until nothing changes: dropping a reward-only method can leave a helper or a
    constant that nothing kept uses any more, and the slice then leaves it out.
    """
    while True:
        if root is not None:
            body = _slice(body, root)
        body, changed = _drop_orphans(body, removed)
        if not changed:
            return body


def _drop_orphans(body: list[ast.stmt], removed: _Removed) -> tuple[list[ast.stmt], bool]:
    """Drop module functions and methods that removed code called and nothing kept uses; (body, changed)."""
    names = {n.id for stmt in body for n in ast.walk(stmt) if isinstance(n, ast.Name)}
    attrs = {n.attr for stmt in body for n in ast.walk(stmt) if isinstance(n, ast.Attribute)}
    changed = False
    out = []
    for stmt in body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name in removed.names and stmt.name not in names:
            removed.add(stmt)
            changed = True
            continue
        if isinstance(stmt, ast.ClassDef):
            methods = [s for s in stmt.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)
                       and s.name in removed.attrs and s.name not in attrs | names | _API_METHODS]
            for method in methods:
                removed.add(method)
            if methods:
                stmt.body = [s for s in stmt.body if s not in methods] or [ast.Pass()]
                changed = True
        out.append(stmt)
    return out, changed


def _slice(body: list[ast.stmt], root: str) -> list[ast.stmt]:
    """The statements of `body` that class `root` needs, transitively, in source order.

    A statement is needed when it binds (defines, assigns or imports) a name that needed code reads from
    the module; import statements keep only the names that are read. The module docstring stays.
    """
    binders: dict[str, list[int]] = {}
    for i, stmt in enumerate(body):
        for name in _binds(stmt):
            binders.setdefault(name, []).append(i)
    start = max(i for i, s in enumerate(body) if isinstance(s, ast.ClassDef) and s.name == root)
    keep, todo, reads = {start}, [start], set()
    while todo:
        free = _free_names(body[todo.pop()])
        reads |= free
        for name in free:
            for i in binders.get(name, ()):
                if i not in keep:
                    keep.add(i)
                    todo.append(i)
    if body and _is_docstring(body[0]):
        keep.add(0)
    return [_trim_import(s, reads) if isinstance(s, ast.Import | ast.ImportFrom) else s
            for i, s in enumerate(body) if i in keep]


def _binds(stmt: ast.stmt) -> set[str]:
    """Module names a top-level statement binds; nothing for `if __name__ == "__main__":` blocks."""
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {stmt.name}
    if isinstance(stmt, ast.Import | ast.ImportFrom):
        return {_bound_name(alias, stmt) for alias in stmt.names}
    if isinstance(stmt, ast.Assign | ast.AugAssign | ast.AnnAssign):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return {n for t in targets for n in _names(t)}
    if _is_main_guard(stmt):
        return set()
    bound = set()
    if isinstance(stmt, ast.For | ast.AsyncFor):
        bound |= _names(stmt.target)
    for block in _blocks(stmt):  # try/except imports, `if TYPE_CHECKING:` and the like
        for inner in block:
            bound |= _binds(inner)
    return bound


def _bound_name(alias: ast.alias, stmt: ast.Import | ast.ImportFrom) -> str:
    if alias.asname:
        return alias.asname
    return alias.name.split(".")[0] if isinstance(stmt, ast.Import) else alias.name


def _trim_import(stmt: ast.Import | ast.ImportFrom, reads: set[str]) -> ast.stmt:
    """The import with only the names kept code reads (`from x import *` is left whole)."""
    names = [a for a in stmt.names if a.name == "*" or _bound_name(a, stmt) in reads]
    if len(names) == len(stmt.names):
        return stmt
    trimmed = ast.Import(names=names) if isinstance(stmt, ast.Import) else ast.ImportFrom(
        module=stmt.module, names=names, level=stmt.level
    )
    return ast.copy_location(trimmed, stmt)


def _free_names(node: ast.AST) -> set[str]:
    """Names `node` reads from the module: the names it loads, less those a function binds for itself.

    Decorators, defaults and annotations of a function are read where it is defined; its body reads
    what its parameters and its own assignments do not bind.
    """
    if isinstance(node, ast.Name):
        return {node.id} if isinstance(node.ctx, ast.Load) else set()
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        args = node.args
        outside = [*getattr(node, "decorator_list", []), *args.defaults, *args.kw_defaults,
                   *(a.annotation for a in _all_args(args)), getattr(node, "returns", None)]
        inside = node.body if isinstance(node.body, list) else [node.body]
        free = set().union(*(_free_names(n) for n in outside if n is not None))
        return free | (set().union(*(_free_names(n) for n in inside)) - _local_names(node))
    return set().union(*(_free_names(child) for child in ast.iter_child_nodes(node)))


def _local_names(fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    """Names `fn` binds in its own scope: parameters, assignment and loop targets, nested definitions,
    imports, exception names (less those it declares `global` or `nonlocal`)."""
    bound = {a.arg for a in _all_args(fn.args)}
    declared: set[str] = set()
    for n in _own_nodes(fn):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            bound.add(n.id)
        elif isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(n.name)
        elif isinstance(n, ast.Import | ast.ImportFrom):
            bound |= {_bound_name(a, n) for a in n.names}
        elif isinstance(n, ast.ExceptHandler) and n.name:
            bound.add(n.name)
        elif isinstance(n, ast.Global | ast.Nonlocal):
            declared |= set(n.names)
    return bound - declared


def _own_nodes(fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> Iterator[ast.AST]:
    """The nodes of `fn`'s body in its own scope: a nested function, lambda or class is yielded but not
    entered."""
    todo: list[ast.AST] = list(fn.body) if isinstance(fn.body, list) else [fn.body]
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            todo.extend(ast.iter_child_nodes(node))


# --- small helpers --------------------------------------------------------------------------------------


def _targets(stmt: ast.Assign | ast.AugAssign | ast.AnnAssign) -> set[str]:
    """Names the assignment binds; `self` in `self.x = ...` is read, not bound (else every later use of
    `self` would look derived from the assigned value)."""
    nodes = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    return {
        n.id for t in nodes for n in ast.walk(t) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }


def _names(target: ast.AST) -> set[str]:
    """Names an assignment target stores to (not names read inside it, like `i` in `a[i] = ...`)."""
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _reads(node: Any) -> set[str]:
    if node is None:
        return set()
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _all_args(args: ast.arguments) -> list[ast.arg]:
    return [*args.posonlyargs, *args.args, *args.kwonlyargs, *filter(None, [args.vararg, args.kwarg])]


def _blocks(stmt: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists nested in a compound statement (bodies, else branches, except handlers)."""
    blocks = [getattr(stmt, attr, None) for attr in ("body", "orelse", "finalbody")]
    blocks += [h.body for h in getattr(stmt, "handlers", [])]
    return [b for b in blocks if isinstance(b, list) and b]


def _is_main_guard(stmt: ast.stmt) -> bool:
    """`if __name__ == "__main__":`."""
    test = stmt.test if isinstance(stmt, ast.If) else None
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators))


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(
        stmt.value.value, str
    )


def _mentions_reward(node: Any) -> bool:
    if node is None:
        return False
    for n in ast.walk(node):
        text = (n.id if isinstance(n, ast.Name) else n.attr if isinstance(n, ast.Attribute)
                else n.arg if isinstance(n, ast.arg | ast.keyword) and n.arg
                else n.value if isinstance(n, ast.Constant) and isinstance(n.value, str) else "")
        if _REWARD.search(text):
            return True
    return False


def _drop_docstring(node: ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> None:
    body = node.body
    if body and _is_docstring(body[0]) and _REWARD.search(body[0].value.value):  # type: ignore[attr-defined]
        node.body = body[1:] or [ast.Pass()]


def _first_match(code: str) -> str:
    for line in code.splitlines():
        if _REWARD.search(line):
            return line.strip()[:120]
    return ""
