"""Each public function of `utils` serves a chapter (issue 29: "used by a chapter or removed").

A function in a module's ``__all__`` counts as used when a chapter notebook calls it (``from
utils.mod import name``, ``mod.name`` after ``from utils import mod [as m]``) or links it in its
text (``utils.mod.name``), when a chapter's exercise check calls it, or when another `utils` module
does (then it must stay public: no private name crosses modules). Functions only: classes,
constants and re-exports are not checked here.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path

import utils

ROOT = Path(__file__).resolve().parents[1]

#: Public functions that no chapter uses, each with the reason it stays public.
DOCUMENTED_FOR_READERS = {
    "utils.runtime.get_device": "README's GPU note: for readers who move a scaled-up experiment to a GPU",
}


def _chapter_uses() -> tuple[set[tuple[str, str]], str]:
    """(module, name) pairs the chapters' code uses, and all their markdown text."""
    used: set[tuple[str, str]] = set()
    prose = []
    for path in sorted((ROOT / "chapters").rglob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        aliases: dict[str, str] = {}
        trees = []
        for cell in cells:
            source = "".join(cell["source"])
            if cell["cell_type"] != "code":
                prose.append(source)
                continue
            code = "\n".join(line for line in source.split("\n") if not line.lstrip().startswith(("%", "!")))
            tree = ast.parse(code)
            trees.append(tree)
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("utils"):
                    parts = node.module.split(".")
                    for a in node.names:
                        if len(parts) == 1:
                            aliases[a.asname or a.name] = a.name
                        else:
                            used.add((parts[1], a.name))
                if isinstance(node, ast.Import):
                    for a in node.names:
                        if a.name.startswith("utils.") and a.asname:
                            aliases[a.asname] = a.name.split(".")[1]
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                    used.add((aliases[node.value.id], node.attr))
    return used, "\n".join(prose)


def _unused() -> list[str]:
    used, prose = _chapter_uses()
    sources = {p: p.read_text() for p in (ROOT / "utils").rglob("*.py")}
    unused = []
    for info in pkgutil.iter_modules(utils.__path__):
        if info.name.startswith("_") or info.ispkg:
            continue
        module = importlib.import_module(f"utils.{info.name}")
        own = ROOT / "utils" / f"{info.name}.py"
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if not inspect.isfunction(obj) or obj.__module__ != module.__name__:
                continue
            word = re.compile(rf"\b{re.escape(name)}\b")
            if (
                (info.name, name) in used
                or re.search(rf"\butils\.{info.name}\.{re.escape(name)}\b", prose)
                or any(word.search(text) for path, text in sources.items() if path != own)
            ):
                continue
            unused.append(f"utils.{info.name}.{name}")
    return unused


def test_every_public_function_is_used_by_a_chapter() -> None:
    unused = _unused()
    left = sorted(set(unused) - set(DOCUMENTED_FOR_READERS))
    assert not left, f"public functions no chapter uses (use one in a chapter or make it private): {left}"
    assert set(DOCUMENTED_FOR_READERS) <= set(unused), "an allowed name is now used: drop it from the list"


def test_the_scan_sees_each_kind_of_use() -> None:
    # the scan is not vacuous: names used only one way each are recognised, and an unused one is not
    used, prose = _chapter_uses()
    assert ("mcmc", "mcse_mean") in used  # mcmc.mcse_mean after `from utils import mcmc` (chapter 9)
    assert ("induction", "copying_score") in used  # a direct import (chapter 7d)
    assert "utils.metrics.edit_distances" in prose  # linked in chapter 1's text
    assert ("runtime", "get_device") not in used
