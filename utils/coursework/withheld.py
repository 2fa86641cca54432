"""The grading copy of the course package: the functions that compute an answer are withheld.

A graded answer must compute its result itself, so that a one-line alias to the course's own
implementation (``my_extinction = utils.branching.extinction_probability``) earns nothing. The
grader copies the package and replaces, in the copy's source, the body of every function named
in a ``Graded`` entry's ``forbid`` and of every function of the exercise modules
(``utils/exercises/chNN.py``: the checks and their reference answers) by a ``raise``. The
sandbox shows the submission this copy in place of the package, so the original code is not
there to be called, imported under another name, or read from disk. The chapter's own cells
that use a withheld function fail while grading; that costs nothing, because graded answers
use only what the notebook imports (the coursework format), and the feedback leaves those
failures out.
"""

from __future__ import annotations

import ast
import compileall
import importlib
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from .sandbox import package_dir

#: Start of the message of every withheld function's error (the feedback recognises it).
MARK = "withheld while grading"


def _stub(dotted: str, node: ast.FunctionDef | ast.AsyncFunctionDef, why: str) -> None:
    """Replace the body of ``node`` (keeping its docstring) by raising RuntimeError."""
    message = f"{dotted} is {MARK}: {why}"
    body: list[ast.stmt] = []
    if (
        node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(getattr(node.body[0], "value", None), ast.Constant)
    ):
        body.append(node.body[0])
    body.append(ast.Raise(exc=ast.Call(ast.Name("RuntimeError", ast.Load()), [ast.Constant(message)], []), cause=None))
    node.body = body


class _Withhold(ast.NodeTransformer):
    """Stub the functions of a module whose qualified names are in ``targets`` (all of them if None)."""

    def __init__(self, module: str, targets: set[str] | None, why: str) -> None:
        self.module, self.targets, self.why, self.stack = module, targets, why, []
        self.done: set[str] = set()

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()
        return node

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        qualname = ".".join([*self.stack, node.name])
        if self.targets is None or qualname in self.targets:
            _stub(f"{self.module}.{qualname}", node, self.why)
            self.done.add(qualname)
        return node  # nested functions go with the body

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function


def resolve(dotted: str) -> tuple[str, str]:
    """``(module, qualified name)`` where the function ``dotted`` (e.g. ``utils.branching.extinction_probability``) is defined."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name, None)
            if obj is None:
                raise ValueError(f"forbid names {dotted!r}, which does not exist")
        module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        if not (isinstance(module, str) and module.startswith("utils.") and isinstance(qualname, str)):
            raise ValueError(f"forbid names {dotted!r}, which is not a function of the course package")
        return module, qualname
    raise ValueError(f"forbid names {dotted!r}, which does not exist")


def _literal(value: object) -> bool:
    """True for a constant that ``repr`` writes back as itself (numbers, strings, tuples and lists of them)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    return isinstance(value, (tuple, list)) and all(_literal(v) for v in value)


def _stub_module(module: str) -> str:
    """An exercise module as the sandbox sees it: the same public names, each function raising, no code.

    Its checks and reference answers are the grader's business; a notebook that imports a check or
    calls it while being graded gets the error, and its literal constants are kept.
    """
    real = importlib.import_module(module)
    why = "the grader runs the checks outside the notebook."
    lines = [f'"""{module}, withheld while grading."""', ""]
    for name, value in sorted(vars(real).items()):
        if name.startswith("__") or isinstance(value, type(importlib)):
            continue
        if callable(value):
            message = f"{module}.{name} is {MARK}: {why}"
            lines += [f"def {name}(*args, **kwargs):", f"    raise RuntimeError({message!r})", ""]
        elif _literal(value) and len(repr(value)) < 10_000:
            lines += [f"{name} = {value!r}", ""]
    return "\n".join(lines)


def _rewrite(path: Path, module: str, targets: set[str] | None, why: str) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    withhold = _Withhold(module, targets, why)
    withhold.visit(tree)
    path.write_text(ast.unparse(ast.fix_missing_locations(tree)) + "\n")
    return withhold.done


def grading_copy(dest: Path, forbid: Iterable[str]) -> Path:
    """Copy the course package to ``dest/utils`` with ``forbid`` and the exercise modules' functions withheld.

    Returns the copy's folder. It is compiled (the sandbox cannot write bytecode) and made
    readable by everyone (the kernel runs as another user), and it looks like the package's
    own folder in tracebacks.
    """
    source = package_dir()
    target = Path(dest) / "utils"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc"))
    wanted: dict[str, set[str]] = {}
    for dotted in sorted(set(forbid)):
        module, qualname = resolve(dotted)
        wanted.setdefault(module, set()).add(qualname)
    for path in sorted((target / "exercises").glob("ch*.py")):
        path.write_text(_stub_module(f"utils.exercises.{path.stem}"))
        wanted.pop(f"utils.exercises.{path.stem}", None)
    for module, qualnames in wanted.items():
        rel = Path(*module.split(".")[1:]).with_suffix(".py")
        done = _rewrite(target / rel, module, qualnames, "an answer must compute this itself.")
        if done != qualnames:
            raise ValueError(f"could not find {sorted(qualnames - done)} in {module}")
    compileall.compile_dir(target, quiet=1, ddir=str(source), workers=1)
    for folder, _dirs, files in os.walk(target):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(Path(folder) / name, 0o644)
    return target
