"""Mutants of the fake's rules, generated per rule with `ast`: what a plausible bug of a dimail version looks like.

Each operator changes one node of one module. A mutant's id names the module, the function it is in, the
operator and its rank among that operator's sites in that function
(`backend/users.py::Users.delete_user:drop-statement#2`), so an id survives edits elsewhere in the module
(lines move, ids do not). `generate()` lists every mutant of the given modules in a fixed order; `sample()`
picks a deterministic, seeded subset, stratified by module and operator; `mutated_code()` compiles a mutant's
module for the import hook of `mutation.run` (the working tree is never written).
"""

from __future__ import annotations

import ast
import copy
import random
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import CodeType

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "fake_dimail"
# What `make mutation` mutates: the backend's rules and the check engine (paths relative to fake_dimail/).
DEFAULT_MODULES = tuple(sorted(
    f"backend/{p.name}" for p in (PACKAGE / "backend").glob("*.py") if p.name != "__init__.py")) + ("checks.py",)
SELECTED = DEFAULT_MODULES
# The reviewed list of code the contract suite must not judge (the fake's own, or a guess): the fake's tests do.
SCOPE = Path(__file__).with_name("scope.toml")


@dataclass(frozen=True)
class Scope:
    """Code of the fake's own (its control plane, its state file) or of a guess, and the tests that judge it."""

    key: str  # a module relative to fake_dimail/, or `module::Qualified.name`
    reason: str
    tests: tuple[str, ...]  # relative to the repository


def fake_only(path: Path = SCOPE) -> dict[str, Scope]:
    """The reviewed list (mutation/scope.toml): key -> its Scope."""
    table = tomllib.loads(path.read_text())
    return {key: Scope(key, str(entry["reason"]), tuple(entry["tests"])) for key, entry in table.items()}


def scope_of(mutant: Mutant, scopes: dict[str, Scope]) -> Scope | None:
    """The fake-only entry a mutant falls in (the most specific one), None for dimail's rules."""
    function = mutant.function
    while True:
        found = scopes.get(f"{mutant.module}::{function}")
        if found is not None:
            return found
        if "." not in function:
            return scopes.get(mutant.module)
        function = function.rsplit(".", 1)[0]


OPERATORS = ("compare-flip", "off-by-one", "negate", "and-or", "condition-true", "condition-false",
             "drop-statement", "return-constant", "raise-pass")

_FLIP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt,
    ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
_BOUNDARY: dict[type[ast.cmpop], type[ast.cmpop]] = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE,
                                                     ast.GtE: ast.Gt}


@dataclass(frozen=True)
class Mutant:
    id: str
    module: str  # relative to fake_dimail/, e.g. backend/users.py
    function: str  # qualified name, `<module>` at top level
    operator: str
    line: int
    before: str
    after: str
    index: int  # the node's rank in the module's walk (`_sites`)
    variant: int  # which change of that node, for nodes with more than one

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def dotted(self) -> str:
        return "fake_dimail." + self.module.removesuffix(".py").replace("/", ".")


# --- where each operator applies ----------------------------------------------------------------------------

Change = Callable[[ast.AST], ast.AST | None]  # the node in the tree -> its replacement (None: nothing to do)


def _is_docstring(node: ast.AST, parent: ast.AST | None) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
            and parent is not None and getattr(parent, "body", [None])[0] is node)


def _changes(node: ast.AST, parent: ast.AST | None) -> Iterator[tuple[str, Change]]:
    """The (operator, change) pairs a node offers, in a fixed order."""
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in _FLIP:
                yield "compare-flip", _set_op(i, _FLIP[type(op)])
            if type(op) in _BOUNDARY:
                yield "off-by-one", _set_op(i, _BOUNDARY[type(op)])
    if (isinstance(node, ast.Constant) and type(node.value) is int
            and isinstance(parent, ast.Compare | ast.BinOp | ast.Slice | ast.Subscript)):
        yield "off-by-one", lambda n: ast.Constant(n.value + 1)  # type: ignore[attr-defined]
    if isinstance(node, ast.BoolOp):
        yield "and-or", lambda n: ast.BoolOp(ast.Or() if isinstance(n.op, ast.And) else ast.And(),  # type: ignore
                                             n.values)  # type: ignore[attr-defined]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "negate", lambda n: n.operand  # type: ignore[attr-defined]
    if isinstance(node, ast.If | ast.IfExp | ast.While) or (isinstance(node, ast.comprehension) and node.ifs):
        if isinstance(node, ast.comprehension):
            yield "negate", _comprehension(lambda t: ast.UnaryOp(ast.Not(), t))
            yield "condition-true", _comprehension(lambda t: ast.Constant(True))
            yield "condition-false", _comprehension(lambda t: ast.Constant(False))
        elif not _is_type_checking(node):
            test = node.test  # type: ignore[union-attr]
            # not where another operator makes the same program: `if not (a == b)` is compare-flip's `if a != b`,
            # `if False: raise E` is raise-pass's
            if not (isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)) and not (
                    isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _FLIP):
                yield "negate", _test(lambda t: ast.UnaryOp(ast.Not(), t))
            if not isinstance(node, ast.While):
                yield "condition-true", _test(lambda t: ast.Constant(True))
            body = getattr(node, "body", None)
            if not (isinstance(body, list) and len(body) == 1 and isinstance(body[0], ast.Raise) and not node.orelse):
                yield "condition-false", _test(lambda t: ast.Constant(False))
    if isinstance(node, ast.Raise):
        yield "raise-pass", lambda n: ast.Pass()
    elif isinstance(node, ast.Delete | ast.AugAssign) or (
            isinstance(node, ast.Assign) and all(isinstance(t, ast.Subscript | ast.Attribute) for t in node.targets)):
        yield "drop-statement", lambda n: ast.Pass()
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and not _is_docstring(node, parent):
        yield "drop-statement", lambda n: ast.Pass()
    if isinstance(node, ast.Return) and node.value is not None:
        value = node.value
        if isinstance(value, ast.Constant) and isinstance(value.value, bool):
            yield "return-constant", lambda n: ast.Return(ast.Constant(not n.value.value))  # type: ignore
        elif isinstance(value, ast.List | ast.ListComp):
            yield "return-constant", lambda n: ast.Return(ast.List([], ast.Load()))
        elif isinstance(value, ast.Dict | ast.DictComp):
            yield "return-constant", lambda n: ast.Return(ast.Dict([], []))
        elif isinstance(value, ast.Compare | ast.BoolOp) or (
                isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.Not)):
            yield "return-constant", lambda n: ast.Return(ast.Constant(False))
        elif not (isinstance(value, ast.Constant) and value.value is None):
            yield "return-constant", lambda n: ast.Return(ast.Constant(None))


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"


def _set_op(i: int, op: type[ast.cmpop]) -> Change:
    def change(n: ast.AST) -> ast.AST:
        assert isinstance(n, ast.Compare)
        ops = list(n.ops)
        ops[i] = op()
        return ast.Compare(n.left, ops, n.comparators)
    return change


def _test(make: Callable[[ast.expr], ast.expr]) -> Change:
    def change(n: ast.AST) -> ast.AST:
        n.test = make(n.test)  # type: ignore[attr-defined]
        return n
    return change


def _comprehension(make: Callable[[ast.expr], ast.expr]) -> Change:
    def change(n: ast.AST) -> ast.AST:
        assert isinstance(n, ast.comprehension)
        test = n.ifs[0] if len(n.ifs) == 1 else ast.BoolOp(ast.And(), n.ifs)
        n.ifs = [make(test)]
        return n
    return change


# --- walking a module ------------------------------------------------------------------------------------------


def _walk(tree: ast.AST) -> Iterator[tuple[int, ast.AST, ast.AST | None, str]]:
    """Every node once, pre-order, with its rank, its parent and the qualified name of its function.

    Decorators, annotations and default values are not walked: they are not rules."""
    rank = 0

    def visit(node: ast.AST, parent: ast.AST | None, scope: str) -> Iterator[tuple[int, ast.AST, ast.AST | None, str]]:
        nonlocal rank
        yield rank, node, parent, scope
        rank += 1
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            inner = node.name if scope == "<module>" else f"{scope}.{node.name}"
            for child in node.body:
                yield from visit(child, node, inner)
            return
        if isinstance(node, ast.AnnAssign):
            if node.value is not None:
                yield from visit(node.value, node, scope)
            return
        for child in ast.iter_child_nodes(node):
            yield from visit(child, node, scope)

    yield from visit(tree, None, "<module>")


def _sites(source: str) -> Iterator[tuple[int, ast.AST, ast.AST | None, str, str, int, Change]]:
    for rank, node, parent, scope in _walk(ast.parse(source)):
        for variant, (operator, change) in enumerate(_changes(node, parent)):
            yield rank, node, parent, scope, operator, variant, change


def _text(node: ast.AST) -> str:
    if isinstance(node, ast.If | ast.While):
        return f"{'if' if isinstance(node, ast.If) else 'while'} {ast.unparse(node.test)}:"
    if isinstance(node, ast.comprehension):
        return " ".join(f"if {ast.unparse(t)}" for t in node.ifs)
    return ast.unparse(node).splitlines()[0]


def generate(modules: tuple[str, ...] = SELECTED) -> list[Mutant]:
    """Every mutant of these modules (relative to fake_dimail/), in a fixed order."""
    return [mutant for module in modules for mutant in mutants_of(module, (PACKAGE / module).read_text())]


def mutants_of(module: str, source: str) -> list[Mutant]:
    """The mutants of one module's source, in the order of its syntax tree."""
    mutants: list[Mutant] = []
    ranks: dict[tuple[str, str], int] = {}
    for rank, node, _parent, scope, operator, variant, change in _sites(source):
        before = _text(node)
        after = _text(change(_copy(node)) or node)
        if after == before:
            continue
        ordinal = ranks[scope, operator] = ranks.get((scope, operator), 0) + 1
        mutants.append(Mutant(f"{module}::{scope}:{operator}#{ordinal}", module, scope, operator,
                              getattr(node, "lineno", 0) or getattr(getattr(node, "target", None), "lineno", 0),
                              before, after, rank, variant))
    return mutants


def _copy(node: ast.AST) -> ast.AST:
    return copy.deepcopy(node)


def mutated_code(mutant: Mutant, source: str | None = None) -> CodeType:
    """The mutant's module (its source read from the working tree unless given), compiled with the original
    file name (tracebacks point at the real lines)."""
    path = PACKAGE / mutant.module
    tree = ast.parse(path.read_text() if source is None else source)
    for rank, node, parent, _scope, _operator, variant, change in _sites_of(tree):
        if rank == mutant.index and variant == mutant.variant:
            replacement = change(node)
            if replacement is not node and replacement is not None:
                _replace(parent, node, replacement)
            break
    else:
        raise LookupError(f"{mutant.id}: no such site in {mutant.module}")
    return compile(ast.fix_missing_locations(tree), str(path), "exec")


def _sites_of(tree: ast.AST) -> Iterator[tuple[int, ast.AST, ast.AST | None, str, str, int, Change]]:
    for rank, node, parent, scope in list(_walk(tree)):
        for variant, (operator, change) in enumerate(_changes(node, parent)):
            yield rank, node, parent, scope, operator, variant, change


def _replace(parent: ast.AST | None, old: ast.AST, new: ast.AST) -> None:
    assert parent is not None
    ast.copy_location(new, old)
    for field, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, field, new)
            return
        if isinstance(value, list):
            for i, item in enumerate(value):
                if item is old:
                    value[i] = new
                    return
    raise LookupError("node not found under its parent")


# --- sampling -----------------------------------------------------------------------------------------------


def sample(mutants: list[Mutant], size: int, seed: int) -> list[Mutant]:
    """`size` mutants, stratified by (module, operator): each stratum gets its share of `size` in proportion to
    its number of mutants (largest remainders first), drawn with a `random.Random` seeded by `seed` and the
    stratum; returned in generation order."""
    if size >= len(mutants):
        return list(mutants)
    strata: dict[tuple[str, str], list[Mutant]] = {}
    for mutant in mutants:
        strata.setdefault((mutant.module, mutant.operator), []).append(mutant)
    quotas = {key: size * len(group) / len(mutants) for key, group in strata.items()}
    shares = {key: int(quota) for key, quota in quotas.items()}
    for key in sorted(strata, key=lambda k: (-(quotas[k] - shares[k]), k))[:size - sum(shares.values())]:
        shares[key] += 1
    chosen: set[str] = set()
    for key in sorted(strata):
        chosen.update(m.id for m in random.Random(f"{seed}:{key[0]}:{key[1]}").sample(strata[key], shares[key]))
    return [m for m in mutants if m.id in chosen]
