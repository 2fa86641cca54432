"""Execute notebooks in fresh kernels and print each one's wall time and the kernel's CPU time.

CPU time (user + sys of the kernel process) is insensitive to other load on the machine,
so it is the number to compare with the 90 s budget when the machine is busy. The budget is
per notebook; a chapter split into several notebooks (sub-pages) also gets a total line.

    .venv/bin/python bench/notebook_times.py                 # every notebook under chapters/
    .venv/bin/python bench/notebook_times.py chapters/03_*/*.ipynb
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from notebook_client import run_notebook  # noqa: E402  (the tests' client: sliced waits, a hard limit)

BUDGET_S = 90.0


def main(args: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook under chapters/")
    given = parser.parse_args(args).notebooks
    missing = [p for p in given if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(map(str, missing))}")
    os.environ.setdefault("PTDL_NO_PROGRESS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    paths = [p.resolve() for p in given] or sorted((ROOT / "chapters").rglob("*.ipynb"))
    print(f"{'notebook':60s} {'wall s':>8s} {'cpu s':>8s}  budget {BUDGET_S:.0f} s per notebook")
    chapters: dict[Path, list[tuple[float, float]]] = {}
    for p in paths:
        if ".ipynb_checkpoints" in p.parts:
            continue
        wall, cpu = run_notebook(p, limit_s=600)
        flag = "" if wall <= BUDGET_S else "  OVER BUDGET"
        print(f"{_shown(p):60s} {wall:8.1f} {cpu:8.1f}{flag}", flush=True)
        chapters.setdefault(p.parent, []).append((wall, cpu))
    for folder, times in chapters.items():
        if len(times) > 1:  # a split chapter
            total = f"{_shown(folder)}/ ({len(times)} notebooks, total)"
            print(f"{total:60s} {sum(w for w, _ in times):8.1f} {sum(c for _, c in times):8.1f}")
    return 0


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
