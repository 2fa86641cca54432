"""Progress bars that show in Jupyter but leave no clutter in the built book.

Bars are off when ``PTDL_NO_PROGRESS=1`` (the Makefile sets it for ``make book`` and
``make test``) and on otherwise, as a notebook widget in Jupyter and as text in a terminal.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

__all__ = ["progress"]

Item = TypeVar("Item")


def _enabled() -> bool:
    """True unless the environment variable ``PTDL_NO_PROGRESS`` is set to a true value."""
    return os.environ.get("PTDL_NO_PROGRESS", "0").lower() not in ("1", "true", "yes")


def progress(
    iterable: Iterable[Item], desc: str | None = None, total: int | None = None, **kwargs: Any
) -> Iterator[Item]:
    """Wrap ``iterable`` in a tqdm bar when bars are enabled; otherwise return it unchanged."""
    if not _enabled():
        return iter(iterable)
    from tqdm.auto import tqdm

    return iter(tqdm(iterable, desc=desc, total=total, leave=False, **kwargs))
