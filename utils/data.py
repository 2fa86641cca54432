"""Where the data sets used to live: kept so that ``from utils.data import modular_arithmetic`` works.

The data sets now live with their chapters' topics, so that importing one does not load the
others: chapter 1's addition in :mod:`utils.addition`, chapter 6's modular arithmetic in
:mod:`utils.modular`, chapter 7's in-context regression prompts in :mod:`utils.icl_data`.
Import from those; no module of :mod:`utils` imports from this one.
"""

from __future__ import annotations

from .modular import modular_arithmetic

__all__ = ["modular_arithmetic"]
