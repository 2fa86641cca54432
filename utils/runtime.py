"""Seeding, device choice and thread settings (used by every chapter from chapter 1 on)."""

from __future__ import annotations

import os
import random
import re

import numpy as np

from ._validate import check_bool, check_int, check_seed

__all__ = ["DEVICE_PATTERN", "get_device", "setup"]

#: Device names accepted from the environment variable ``PTDL_DEVICE``.
DEVICE_PATTERN = r"cpu|cuda(:\d+)?|mps"


def _set_seed(seed: int) -> np.random.Generator:
    """Seed Python's, NumPy's and (if installed) torch's global RNGs; return a fresh NumPy Generator.

    ``seed`` is an integer in ``[0, 2**32 - 1]``.
    """
    seed = check_seed("seed", seed)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002  (the legacy global RNG is what it seeds)
    try:
        import torch
    except ImportError:  # torch is optional for the non-neural chapters
        pass
    else:
        torch.manual_seed(seed)
    return np.random.default_rng(seed)


def get_device(prefer_gpu: bool = True) -> str:
    """Return ``"cuda"`` if a GPU is present and ``prefer_gpu``, else ``"cpu"`` (the course's target).

    The environment variable ``PTDL_DEVICE`` (``cpu``, ``cuda``, ``cuda:N`` or ``mps``) overrides
    the choice, e.g. ``PTDL_DEVICE=cpu`` to keep a GPU machine on the CPU numbers of the book.
    """
    prefer_gpu = check_bool("prefer_gpu", prefer_gpu)
    override = os.environ.get("PTDL_DEVICE", "").strip()
    if override:
        if not re.fullmatch(DEVICE_PATTERN, override):
            raise ValueError(f"PTDL_DEVICE must be cpu, cuda, cuda:N or mps, got {override!r}")
        return override
    try:
        import torch
    except ImportError:
        return "cpu"
    if prefer_gpu and torch.cuda.is_available():
        return "cuda"
    return "cpu"


def setup(seed: int = 0, threads: int | None = 1) -> np.random.Generator:
    """One call at the top of a notebook: seed everything, set torch threads, apply the plot style.

    ``threads=1`` is fastest for the course's tiny models on a laptop (thread contention
    makes them several times slower); pass ``None`` to leave torch's default.
    """
    if threads is not None:
        threads = check_int("threads", threads, minimum=1)
        try:
            import torch
        except ImportError:
            pass
        else:
            torch.set_num_threads(threads)
    from . import plotting

    plotting.use_style()
    return _set_seed(seed)
