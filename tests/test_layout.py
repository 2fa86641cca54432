"""The layout of `utils`: modules with one job, public names listed in __all__ and documented, and imports
that load only what a chapter needs (issue 29)."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
UTILS = ROOT / "utils"
PUBLIC = sorted(p.stem for p in UTILS.glob("*.py") if not p.name.startswith("_"))
API_MODULES = set(re.findall(r"^\.\. automodule:: (\S+)", (ROOT / "api.md").read_text(), re.M))

#: numpy-only modules: the theory of each chapter, and the helpers every chapter loads
NO_TORCH = (
    "bayes",
    "bayes_exact",
    "controls",
    "branching",
    "fourier",
    "fss",
    "icl",
    "ising",
    "ising_exact",
    "ising_field",
    "mcmc",
    "number_bpe",
    "plotting",
    "progress",
    "rg",
    "runtime",
    "signal",
    "slt",
    "stats",
    "tms",
    "voting",
)

#: The public names of ../shared/COURSE_PLAN.md, each importable where the plan lists it.
CONTRACT = {
    "utils.llc": ["estimate_llc"],
    "utils.ising": ["sample", "magnetization", "energy", "block_spin"],
    "utils.ising_exact": ["T_C", "onsager_magnetization", "onsager_energy", "finite_lattice_energy"],
    "utils.mcmc": ["autocorrelation", "integrated_autocorrelation_time", "binned_error", "r_hat", "ess_bulk"],
    "utils.rg": ["decimate_1d", "migdal_kadanoff", "fixed_point"],
    "utils.branching": ["extinction_probability"],
    "utils.signal": ["kernel_fixed_point", "chi", "critical_sigma_w"],
    "utils.slt": ["learning_coefficient_dln"],
    "utils.bayes": ["free_energy"],
    "utils.tms": ["loss", "kgon"],
    "utils.curvature": ["hessian_trace", "fisher_trace"],
    "utils.data": ["modular_arithmetic"],
}


def _loaded_after_import(statement: str) -> set[str]:
    """The `utils` modules and whether torch is in ``sys.modules`` after ``statement`` in a fresh interpreter."""
    code = f"import sys\n{statement}\nprint(' '.join(sorted(m for m in sys.modules if m == 'torch' or m.startswith('utils'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(out.stdout.split())


def test_estimating_an_llc_loads_no_other_chapter() -> None:
    loaded = _loaded_after_import("import utils.llc")
    assert "utils.llc" in loaded
    # chapter 5's mean-field theory and random networks, chapters 1, 6, 7 and 10's models and data
    for other in ("signal", "random_networks", "token_models", "addition", "modular", "icl_data", "tms_model"):
        assert f"utils.{other}" not in loaded, f"import utils.llc loads utils.{other}"


def test_theory_modules_do_not_import_torch() -> None:
    loaded = _loaded_after_import("\n".join(f"import utils.{m}" for m in NO_TORCH))
    if "torch" in loaded:  # name the culprit
        culprits = [m for m in NO_TORCH if "torch" in _loaded_after_import(f"import utils.{m}")]
        pytest.fail(f"these numpy-only modules import torch: {culprits}")


def test_importing_the_package_alone_loads_nothing_else() -> None:
    assert _loaded_after_import("import utils") == {"utils"}


def _utils_sources() -> list[Path]:
    return sorted(p for p in UTILS.rglob("*.py"))


def _module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(path: Path, node: ast.ImportFrom) -> str:
    """The absolute module named by a (possibly relative) ``from ... import``."""
    if not node.level:
        return node.module or ""
    package = _module_of(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    package = package[: len(package) - (node.level - 1)]
    return ".".join(package + ([node.module] if node.module else []))


@pytest.mark.parametrize("path", _utils_sources(), ids=lambda p: str(p.relative_to(UTILS)))
def test_no_private_name_crosses_modules_and_nothing_imports_the_data_shim(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        source = _resolve(path, node)
        if not source.startswith("utils"):
            continue
        assert source != "utils.data", f"{path.name} imports from the re-export shim utils.data; use utils.modular"
        for alias in node.names:
            is_module = (ROOT / Path(*source.split("."), f"{alias.name}.py")).exists()  # a private module is fine
            assert is_module or not alias.name.startswith("_"), (
                f"{path.name} imports the private name {alias.name} from {source}: make it public in a private "
                "module (no leading underscore) or move the code"
            )


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_module_lists_its_names_in_all_and_is_on_the_api_page(name: str) -> None:
    module = importlib.import_module(f"utils.{name}")
    assert hasattr(module, "__all__"), f"utils.{name} has no __all__"
    assert len(set(module.__all__)) == len(module.__all__), f"utils.{name}.__all__ repeats a name"
    for item in module.__all__:
        assert hasattr(module, item), f"utils.{name}.__all__ lists {item}, which it does not define"
    defined = {
        node.name
        for node in ast.parse((UTILS / f"{name}.py").read_text()).body
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_")
    }
    missing = defined - set(module.__all__)
    assert not missing, f"utils.{name} defines public {sorted(missing)} but leaves them out of __all__ (and api.md)"
    assert f"utils.{name}" in API_MODULES, f"api.md does not document utils.{name}"


@pytest.mark.parametrize("module_name", sorted(CONTRACT))
def test_the_course_plan_names_stay_importable_where_it_lists_them(module_name: str) -> None:
    module = importlib.import_module(module_name)
    for item in CONTRACT[module_name]:
        assert hasattr(module, item), f"{module_name}.{item} (COURSE_PLAN.md) is gone"


def test_the_data_shim_re_exports_the_moved_function_itself() -> None:
    from utils import data, modular

    assert data.modular_arithmetic is modular.modular_arithmetic
    assert data.__all__ == ["modular_arithmetic"]


_ROLE_UTILS = re.compile(r"\{(?:py:)?(?:func|class|data)\}`(?:[^`<]*<)?~?(utils(?:\.\w+)+)>?`")
NOTEBOOKS = sorted((ROOT / "chapters").glob("*/*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_linked_names_are_in_all_so_the_api_page_documents_them(path: Path) -> None:
    """A {func}/{class}/{data} link to a name that autodoc leaves out (not in __all__) renders dead."""
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
    for name in sorted(set(_ROLE_UTILS.findall(text))):
        module_name, _, item = name.rpartition(".")
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # a method or attribute of a class: its class is checked where it is linked
            continue
        if hasattr(module, "__all__") and module_name.count(".") == 1:
            assert item in module.__all__, f"{path.name} links {name}, which utils.{module_name[6:]}.__all__ omits"


def test_notebooks_use_the_new_homes() -> None:
    """Chapters import from the topic modules, never through the shim or the dissolved utils.models."""
    for path in NOTEBOOKS:
        code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        assert not re.search(r"\butils\.(models|data)\b|from utils import [^\n]*\b(models|data)\b", code), path.name
