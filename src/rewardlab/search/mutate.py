"""The LLM-free proposer: evolve reward programs by editing their syntax trees.

Used when no LLM is configured, so the search runs on a machine without a key. Starting from the
task's human reward, children are made by five operators:

* `perturb`: multiply 1-3 *tunable* float constants by a log-normal factor exp(N(0, scale));
* `reweight`: multiply one reward term by a log-normal weight (wraps its assignment in `w * (...)`);
* `drop`: switch one term off (`0.0 * (...)`), keeping every name and shape intact;
* `add`: add a weighted shaping term built from one state variable (see `search/shaping.py`), so the
  search can bring in information the starting reward lacks, not only re-balance what it has;
* `crossover`: take each top-level assignment from either of two parents (uniform, per statement), so
  parents of the same structure exchange constants, and graft (with probability 1/2 each) the
  self-contained terms only the second parent has, so terms added on different branches can meet.

What is tunable: a float literal that feeds the returned total (found by following the names the total
depends on) and is not part of a comparison, an exponent, a modulo, a `clip` call or a subscript. So the
weights and temperatures change, while the environment's thresholds (CartPole's 2.4 m and 12 degrees),
angle wrapping and action bounds stay as the task defines them; integers are never touched. A "term" is
a name assigned in the function that the total depends on and that also appears in the returned
component dictionary (boolean conditions excluded).

Every child passes `check_static` and differs from every program already seen; everything is
deterministic given the seed.
"""

from __future__ import annotations

import ast
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from rewardlab.runfolder import canonical_source as normalize
from rewardlab.sandbox import check_static
from rewardlab.search import shaping

OPERATORS = ("perturb", "reweight", "drop", "add", "crossover")
DEFAULT_WEIGHTS = {"perturb": 0.4, "reweight": 0.1, "drop": 0.1, "add": 0.25, "crossover": 0.15}
_INPUTS = {"state", "action", "next_state", "jnp"}  # names a self-contained term may use
_BOOL_OPS = (ast.Compare, ast.BoolOp)


@dataclass(frozen=True)
class Child:
    source: str
    operator: str
    note: str
    parents: tuple[str, ...]  # ids of the parents


@dataclass(frozen=True)
class Parent:
    """A program children are made from. `magnitude`: typical size of its per-step reward (from its
    training runs), which sizes the weight of an added term; 1.0 when unknown."""

    id: str
    source: str
    fitness: float
    magnitude: float = 1.0


def _function(tree: ast.Module) -> ast.FunctionDef:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "compute_reward":
            return node
    raise ValueError("no compute_reward function")


def _return(fn: ast.FunctionDef) -> ast.Return:
    rets = [n for n in fn.body if isinstance(n, ast.Return)]
    if not rets or not isinstance(rets[-1].value, ast.Tuple) or len(rets[-1].value.elts) != 2:
        raise ValueError("compute_reward must end with `return total, {...}`")
    return rets[-1]


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _assigns(fn: ast.FunctionDef) -> dict[str, ast.Assign]:
    """Top-level single-name assignments of the function body (last one wins)."""
    out: dict[str, ast.Assign] = {}
    for stmt in fn.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            out[stmt.targets[0].id] = stmt
    return out


def _total_deps(fn: ast.FunctionDef) -> tuple[set[str], ast.expr]:
    """Names the returned total depends on (transitively through assignments), and the total's node."""
    ret = _return(fn)
    total = ret.value.elts[0]  # type: ignore[union-attr]
    assigns = _assigns(fn)
    deps: set[str] = set()
    todo = list(_names(total))
    while todo:
        name = todo.pop()
        if name in deps:
            continue
        deps.add(name)
        if name in assigns:
            todo.extend(_names(assigns[name].value))
    return deps, total


def add_term_to(source: str, name: str, term_source: str) -> str | None:
    """`source` with `name = <term>` added to the total and reported as a component.

    Needs the canonical shape `return <total>, {<components>}` (a dict display); None otherwise.
    """
    tree = ast.parse(source)
    try:
        fn = _function(tree)
        ret = _return(fn)
    except ValueError:
        return None
    total, comps = ret.value.elts  # type: ignore[union-attr]
    if not isinstance(comps, ast.Dict):
        return None
    ret.value.elts[0] = ast.BinOp(left=total, op=ast.Add(), right=ast.Name(name, ast.Load()))  # type: ignore[union-attr]
    comps.keys.append(ast.Constant(name))
    comps.values.append(ast.Name(name, ast.Load()))
    fn.body.insert(fn.body.index(ret), ast.parse(f"{name} = {term_source}").body[0])
    return ast.unparse(ast.fix_missing_locations(tree))


def terms(source: str) -> list[str]:
    """The reward terms of a program: names the total depends on that are reported as components."""
    fn = _function(ast.parse(source))
    deps, total = _total_deps(fn)
    comps = _return(fn).value.elts[1]  # type: ignore[union-attr]
    in_dict = _names(comps) if isinstance(comps, ast.Dict) else set()
    assigns = _assigns(fn)
    own = total.id if isinstance(total, ast.Name) else None
    return sorted(
        n
        for n in deps & in_dict
        if n in assigns
        and n != own
        and not isinstance(assigns[n].value, _BOOL_OPS)
        and not _is_bitwise(assigns[n].value)
    )


def _is_bitwise(node: ast.expr) -> bool:
    return isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitOr, ast.BitAnd, ast.BitXor))


def tunable_constants(tree: ast.Module, scale_free: bool = False) -> list[ast.Constant]:
    """Float literals that set weights or temperatures of the total (see the module docstring).

    `scale_free`: leave out the constants that only scale the whole total (see `whole_scale`).
    """
    fn = _function(tree)
    deps, total = _total_deps(fn)
    assigns = _assigns(fn)
    roots: list[ast.AST] = [total] + [assigns[n].value for n in sorted(deps) if n in assigns]
    out: list[ast.Constant] = []
    seen: set[int] = {id(c) for c in whole_scale(fn)[0]} if scale_free else set()
    for root in roots:
        for const in _free_floats(root):
            if id(const) not in seen:
                seen.add(id(const))
                out.append(const)
    return out


def whole_scale(fn: ast.FunctionDef) -> tuple[list[ast.Constant], set[str]]:
    """(constants, names) the returned total is a product of: `total = w * term` or `total = -(k * term)`
    through single-name assignments. Changing such a constant, or re-weighting such a term, multiplies
    the whole reward by a number, which PPO with reward normalisation undoes: not a new reward."""
    assigns = _assigns(fn)
    consts: list[ast.Constant] = []
    names: set[str] = set()
    node: ast.expr | None = _return(fn).value.elts[0]  # type: ignore[union-attr]
    while node is not None:
        if isinstance(node, ast.Name):
            if node.id in names:  # `x = 2.0 * x` loops back
                break
            names.add(node.id)
            node = assigns[node.id].value if node.id in assigns else None
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            node = node.operand
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            left, right = node.left, node.right
            if isinstance(left, ast.Constant) and type(left.value) is float:
                consts.append(left)
                node = right
            elif isinstance(right, ast.Constant) and type(right.value) is float:
                consts.append(right)
                node = left
            else:
                node = None
        else:
            node = None
    return consts, names


def _free_floats(root: ast.AST) -> list[ast.Constant]:
    found: list[ast.Constant] = []
    stack: list[ast.AST] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Compare, ast.Subscript)):
            continue
        if isinstance(node, ast.Call) and _call_name(node) == "clip":
            continue
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Pow, ast.Mod)):
            stack.append(node.left)
            continue
        if isinstance(node, ast.Constant) and type(node.value) is float and node.value != 0.0:
            found.append(node)
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return found


def _call_name(node: ast.Call) -> str:
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _round(x: float) -> float:
    return float(f"{x:.4g}")


def _lognormal(rng: random.Random, scale: float) -> float:
    return math.exp(rng.gauss(0.0, scale))


# operators -----------------------------------------------------------------------------------------------
def perturb(
    source: str, rng: random.Random, scale: float, scale_free: bool = False
) -> tuple[str, str] | None:
    tree = ast.parse(source)
    consts = tunable_constants(tree, scale_free)
    if not consts:
        return None
    k = min(len(consts), rng.choice((1, 1, 2, 3)))
    notes = []
    for const in rng.sample(consts, k):
        old = float(const.value)
        const.value = _round(old * _lognormal(rng, scale))
        notes.append(f"{old:g} -> {const.value:g} (line {const.lineno})")
    return ast.unparse(tree), "perturbed " + ", ".join(notes)


def _wrap(source: str, name: str, factor: float) -> str:
    tree = ast.parse(source)
    stmt = _assigns(_function(tree))[name]
    stmt.value = ast.BinOp(left=ast.Constant(factor), op=ast.Mult(), right=stmt.value)
    return ast.unparse(ast.fix_missing_locations(tree))


def reweight(
    source: str, rng: random.Random, scale: float, scale_free: bool = False
) -> tuple[str, str] | None:
    names = terms(source)
    if scale_free:
        names = [n for n in names if n not in whole_scale(_function(ast.parse(source)))[1]]
    if not names:
        return None
    name = rng.choice(names)
    w = _round(_lognormal(rng, 2 * scale))
    return _wrap(source, name, w), f"reweighted term {name} by {w:g}"


def drop(source: str, rng: random.Random, scale: float) -> tuple[str, str] | None:
    names = terms(source)
    if len(names) < 2:
        return None
    name = rng.choice(names)
    return _wrap(source, name, 0.0), f"dropped term {name}"


def crossover(a: str, b: str, rng: random.Random) -> tuple[str, str] | None:
    """Uniform crossover of top-level assignments that both parents make to the same name."""
    ta, tb = ast.parse(a), ast.parse(b)
    fa, fb = _function(ta), _function(tb)
    from_b = _assigns(fb)
    taken = []
    for i, stmt in enumerate(fa.body):
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and stmt.targets[0].id in from_b
            and rng.random() < 0.5
        ):
            other = from_b[stmt.targets[0].id]
            if ast.dump(other) != ast.dump(stmt):
                fa.body[i] = other
                taken.append(stmt.targets[0].id)
    source = ast.unparse(ta)
    grafted = []
    own = _assigns(fa)
    for name in terms(b):
        value = from_b[name].value
        if name in own or not _names(value) <= _INPUTS or rng.random() >= 0.5:
            continue
        made = add_term_to(source, name, ast.unparse(value))
        if made is not None:
            source = made
            grafted.append(name)
    if not taken and not grafted:
        return None
    parts = []
    if taken:
        parts.append("took " + ", ".join(taken) + " from the second parent")
    if grafted:
        parts.append("grafted its term(s) " + ", ".join(grafted))
    return source, "crossover " + "; ".join(parts)


def add_pair(
    source: str, rng: random.Random, features: Sequence[shaping.Feature], magnitude: float
) -> list[tuple[str, str]]:
    """A child with one new shaping term (see `search/shaping.py`), then its twin with the opposite sign.

    Nothing tells the proposer whether a feature should be sought or avoided (is `cos(angle)` height to
    gain or to lose?), so `mutate_batch` tries both: one draw covers the feature either way.
    """
    if not features:
        return []
    fn = _function(ast.parse(source))
    drawn = shaping.draw_term(tuple(features), rng, magnitude, set(_assigns(fn)) | _names(fn))
    if drawn is None:
        return []
    feat, weight = drawn
    out = []
    for w in (weight, -weight):
        term = feat.source(w)
        made = add_term_to(source, feat.name, term)
        if made is not None:
            out.append((made, f"added term {feat.name} = {term}"))
    return out


def add(
    source: str, rng: random.Random, features: Sequence[shaping.Feature], magnitude: float
) -> tuple[str, str] | None:
    """Add one shaping term from the task's feature library (the first of `add_pair`)."""
    pair = add_pair(source, rng, features, magnitude)
    return pair[0] if pair else None


# the proposer --------------------------------------------------------------------------------------------
def mutate_batch(
    parents: Sequence[Parent | tuple[str, str, float]],
    n: int,
    rng: random.Random,
    seen: set[str],
    scale: float = 0.5,
    weights: dict[str, float] | None = None,
    max_tries: int = 50,
    features: Sequence[shaping.Feature] = (),
    scale_free: bool = False,
) -> list[Child]:
    """`n` new children of `parents`, best first; the first parent is the elite.

    Half of the children (rounded up) derive from the elite, the rest from a parent drawn with
    probability proportional to its rank; `seen` (normalised sources) is updated with every child.
    `features` is the task's shaping library; without it the `add` operator is never used.
    `scale_free` (the trainer normalises rewards): never propose a child that only multiplies the whole
    reward by a number, since training would not see the difference.
    """
    if not parents:
        raise ValueError("mutate_batch needs at least one parent")
    pool = [p if isinstance(p, Parent) else Parent(*p) for p in parents]
    weights = dict(weights or DEFAULT_WEIGHTS)
    if not features:
        weights.pop("add", None)
    ops, probs = zip(*weights.items(), strict=True)
    ranks = [1.0 / (i + 1) for i in range(len(pool))]
    children: list[Child] = []
    twins: list[Child] = []  # the opposite-sign twin of the last added term, proposed next
    tries = 0
    while len(children) < n and tries < n * max_tries:
        if twins:
            twin = twins.pop()
            key = normalize(twin.source)
            if key not in seen and check_static(twin.source).ok:
                seen.add(key)
                children.append(twin)
            continue
        tries += 1
        elite = len(children) < (n + 1) // 2 or len(pool) == 1
        p = pool[0] if elite else rng.choices(pool, weights=ranks)[0]
        op = rng.choices(ops, weights=probs)[0]
        made: tuple[str, str] | None
        used = (p.id,)
        pair: list[tuple[str, str]] = []
        if op == "crossover":
            others = [q for q in pool if q.id != p.id]
            if not others:
                continue
            q = rng.choice(others)
            made, used = crossover(p.source, q.source, rng), (p.id, q.id)
        elif op == "add":
            pair = add_pair(p.source, rng, features, p.magnitude)
            made = pair[0] if pair else None
        elif op == "drop":
            made = drop(p.source, rng, scale)
        else:
            made = {"perturb": perturb, "reweight": reweight}[op](p.source, rng, scale, scale_free)
        if made is None:
            continue
        src, note = made
        key = normalize(src)
        if key in seen or not check_static(src).ok:
            continue
        seen.add(key)
        children.append(Child(src + "\n", op, note, used))
        twins.extend(Child(t_src + "\n", op, t_note + " (sign twin)", used) for t_src, t_note in pair[1:])
    return children
