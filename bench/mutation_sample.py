"""A random sample of mutants of ``utils``, each run against the tests that import its module.

Usage: ``.venv/bin/python bench/mutation_sample.py [--num N] [--seed S] [--timeout T] [--modules a,b]``

Each mutant changes one AST node of one module (``+``/``-``, ``*``/``/``, ``<``/``<=``,
``>``/``>=``, ``==``/``!=``, ``in``/``not in``, ``and``/``or``, dropping a ``not``, a number
``k`` to ``k + 1``, a ``raise`` to ``pass``), leaving error messages and docstrings alone. It is
written into a copy of the repository under a temporary folder, and the test files that name the
module run there (``pytest -x``, the copy first on ``sys.path``). A mutant is killed when a test
fails, and survives when every test passes; a run that times out is counted apart (on a loaded
machine that can be a slow survivor as well as an endless loop). The chapters' exercise tests
are left out (slow; the notebooks test those solutions). The script prints one line per
mutant (module, line, change, verdict) and the kill rate with its binomial standard error. A
survivor is a place to look: either a missing test, or an equivalent mutant (say so when
reporting).
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SWAPS = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.And: ast.Or,
    ast.Or: ast.And,
}

#: Test files too slow or unrelated to run per mutant (notebooks, the book, figures, pages).
SKIP_TESTS = {
    "test_notebooks.py",
    "test_book.py",
    "test_book_extension.py",
    "test_figures.py",
    "test_split.py",
    "test_layout.py",  # reads the modules' source text, which the mutant's unparsing reformats
    "test_line_length.py",
}

#: Private modules and the public module whose tests exercise them.
OWNER = {
    "_llc_sampling": "llc",
    "_llc_batched": "llc",
    "_activations": "signal",
    "_ising_kernels": "ising",
    "_ising_multispin": "ising",
    "_splitmix": "ising",
    "_validate": "bad_input",
}


def _skipped(tree: ast.AST) -> set[int]:
    """ids of nodes inside docstrings, f-strings and raise statements (messages, not behaviour)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.JoinedStr, ast.Raise)):
            out.update(id(n) for n in ast.walk(node) if n is not node or isinstance(node, ast.JoinedStr))
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.update(id(n) for n in ast.walk(body[0]))
    return out


def sites(path: Path) -> list[tuple[int, str, str]]:
    """Every mutable place of the module: ``(node index in ast.walk order, description, "line:column")``."""
    tree = ast.parse(path.read_text())
    skip = _skipped(tree)
    out = []
    for i, node in enumerate(ast.walk(tree)):
        if id(node) in skip:
            continue
        if isinstance(node, ast.BinOp) and type(node.op) in SWAPS:
            if any(
                isinstance(s, (ast.JoinedStr, ast.Constant)) and isinstance(getattr(s, "value", 0), str)
                for s in (node.left, node.right)
            ):
                continue
            out.append(
                (i, f"{type(node.op).__name__} -> {SWAPS[type(node.op)].__name__}", f"{node.lineno}:{node.col_offset}")
            )
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in SWAPS:
            out.append(
                (
                    i,
                    f"{type(node.ops[0]).__name__} -> {SWAPS[type(node.ops[0])].__name__}",
                    f"{node.lineno}:{node.col_offset}",
                )
            )
        elif isinstance(node, ast.BoolOp):
            out.append(
                (i, f"{type(node.op).__name__} -> {SWAPS[type(node.op)].__name__}", f"{node.lineno}:{node.col_offset}")
            )
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            out.append((i, "drop not", f"{node.lineno}:{node.col_offset}"))
        elif (
            isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
        ):
            out.append((i, f"{node.value!r} -> {node.value + 1!r}", f"{node.lineno}:{node.col_offset}"))
        elif isinstance(node, ast.Raise) and node.exc is not None:
            out.append((i, "raise -> pass", f"{node.lineno}:{node.col_offset}"))
    return out


def mutate(source: str, index: int) -> str:
    """The module's source with node ``index`` (in ``ast.walk`` order) changed, unparsed."""
    tree = ast.parse(source)
    nodes = list(ast.walk(tree))
    node = nodes[index]
    if isinstance(node, ast.BinOp):
        node.op = SWAPS[type(node.op)]()
    elif isinstance(node, ast.Compare):
        node.ops = [SWAPS[type(node.ops[0])]()]
    elif isinstance(node, ast.BoolOp):
        node.op = SWAPS[type(node.op)]()
    elif isinstance(node, ast.Constant):
        node.value = node.value + 1
    if isinstance(node, (ast.UnaryOp, ast.Raise)):
        for parent in nodes:  # swap the node for its operand (drop not) or for pass (raise)
            for field, value in ast.iter_fields(parent):
                if value is node:
                    setattr(parent, field, node.operand)
                elif isinstance(value, list) and any(v is node for v in value):
                    setattr(
                        parent,
                        field,
                        [
                            (ast.Pass() if isinstance(node, ast.Raise) else node.operand) if v is node else v
                            for v in value
                        ],
                    )
    return ast.unparse(ast.fix_missing_locations(tree))


def tests_for(module: str) -> list[str]:
    """The test files that name the module (``utils.X`` or ``X`` in an import), or its owner's."""
    name = OWNER.get(module, module)
    pattern = re.compile(rf"(utils\.{name}\b|from utils import [^\n]*\b{name}\b|^\s+{name},$)", re.M)
    files = sorted(
        p.name
        for p in (ROOT / "tests").glob("test_*.py")
        if p.name not in SKIP_TESTS
        and not p.name.startswith("test_exercises_")  # the chapters' solutions: slow, and tested by notebooks
        and (p.name == f"test_{name}.py" or pattern.search(p.read_text()))
    )
    return files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--num", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--modules", default="", help="comma-separated module names (default: every module of utils)")
    args = ap.parse_args()
    modules = [p for p in sorted((ROOT / "utils").glob("*.py")) if p.stem != "__init__"]
    if args.modules:
        modules = [p for p in modules if p.stem in args.modules.split(",")]
    pool = [(p, *s) for p in modules if tests_for(p.stem) for s in sites(p)]
    rng = random.Random(args.seed)
    sample = rng.sample(pool, min(args.num, len(pool)))
    print(
        f"{len(pool)} mutable places in {len(modules)} modules; sample of {len(sample)} (seed {args.seed})", flush=True
    )
    killed = timeouts = 0
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".git", "_build", "__pycache__", "*.ipynb"))
        # the venv imports utils through an editable-install finder ahead of sys.path: the copy's
        # root conftest drops it, so that the copy's (mutated) utils is the one imported
        (copy / "conftest.py").write_text(
            "import sys\n"
            "sys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in getattr(f, '__module__', '')]\n"
            f"sys.path.insert(0, {str(copy)!r})\n"
            "import utils\n"
            f"assert utils.__file__.startswith({str(copy)!r}), utils.__file__\n"
        )
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PTDL_NO_PROGRESS": "1"}
        for k, (path, index, what, line) in enumerate(sample, 1):
            target = copy / "utils" / path.name
            original = path.read_text()
            target.write_text(mutate(original, index))
            tests = [f"tests/{t}" for t in tests_for(path.stem)]
            try:
                run = subprocess.run(
                    [sys.executable, "-m", "pytest", "-x", "-q", "-n", "0", "-p", "no:cacheprovider", *tests],
                    cwd=copy,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=args.timeout,
                )
                verdict = "killed" if run.returncode != 0 else "SURVIVED"
            except subprocess.TimeoutExpired:
                verdict = "timeout"
            finally:
                target.write_text(original)
            killed += verdict == "killed"
            timeouts += verdict == "timeout"
            print(f"{k:3d} {path.stem}:{line} {what}: {verdict} ({', '.join(t[6:] for t in tests)})", flush=True)
    n = len(sample) - timeouts
    rate = killed / max(n, 1)
    print(
        f"kill rate {killed}/{n} = {rate:.2f} +- {(rate * (1 - rate) / max(n, 1)) ** 0.5:.2f} ({timeouts} timeouts not counted)"
    )


if __name__ == "__main__":
    main()
