"""The course's figure style and small helpers (all chapters).

Call :func:`use_style` once (``utils.runtime.setup`` does); then make figures with
:func:`subplots` and finish each axis with :func:`label`, so every figure has labelled
axes and a title.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

#: A colour-blind-safe palette (Okabe & Ito), used in this order by every figure.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # green
    "#CC79A7",  # purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)

#: Colours with a fixed meaning across chapters.
COLORS: dict[str, str] = {
    "theory": "#000000",  # exact / theoretical curves are black
    "simulation": PALETTE[0],
    "ordered": PALETTE[0],
    "critical": PALETTE[1],
    "disordered": PALETTE[2],
}

_STYLE: dict[str, Any] = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "figure.constrained_layout.use": True,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 2.0,
    "image.cmap": "viridis",
}


def use_style() -> None:
    """Apply the course style to matplotlib (idempotent)."""
    mpl.rcParams.update(_STYLE)
    mpl.rcParams["axes.prop_cycle"] = mpl.cycler(color=list(PALETTE))


def subplots(
    nrows: int = 1, ncols: int = 1, *, width: float | None = None, height: float | None = None, **kwargs: Any
) -> tuple[plt.Figure, Any]:
    """``plt.subplots`` in the course style; the default size grows with the number of panels."""
    use_style()
    w = width if width is not None else 4.2 * ncols + 0.6
    h = height if height is not None else 3.4 * nrows + 0.3
    return plt.subplots(nrows, ncols, figsize=(w, h), **kwargs)


def label(ax: plt.Axes, xlabel: str, ylabel: str, title: str | None = None, *, legend: bool = False) -> plt.Axes:
    """Label an axis (units belong in the label text, e.g. ``"temperature T (J/k_B)"``)."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if legend:
        ax.legend()
    return ax


def colors(n: int) -> list[str]:
    """``n`` colours from the palette (cycled if ``n`` exceeds it)."""
    return [PALETTE[i % len(PALETTE)] for i in range(n)]


def sequential(n: int, cmap: str = "viridis") -> list[tuple[float, float, float, float]]:
    """``n`` colours from a sequential colormap, for families of curves ordered by a parameter."""
    cm = mpl.colormaps[cmap]
    return [cm(x) for x in np.linspace(0.05, 0.9, max(n, 1))]


def band(ax: plt.Axes, x: Sequence[float], mean: Sequence[float], err: Sequence[float], **kwargs: Any) -> None:
    """Plot ``mean`` with a shaded ``mean +- err`` band."""
    x, mean, err = np.asarray(x), np.asarray(mean), np.asarray(err)
    (line,) = ax.plot(x, mean, **kwargs)
    ax.fill_between(x, mean - err, mean + err, color=line.get_color(), alpha=0.2, linewidth=0)


# -- LLC estimation (chapter 9) -------------------------------------------------------------------


def plot_step_size_scan(scan: Any, ax: Any = None, *, exact: float | None = None) -> Any:
    """Draw a :class:`utils.llc.StepSizeScan`: estimate ± std over chains against the step size (chapter 9).

    Runs that did not converge are drawn as open squares, diverged ones as crosses at the top edge;
    ``exact`` adds a dashed line at the exact value.
    """
    if ax is None:
        _, ax = subplots(1, 1)
    ok = ~scan.diverged
    bad = ok & ~scan.converged
    ax.errorbar(
        scan.step_sizes[ok],
        scan.mean[ok],
        yerr=scan.std[ok],
        color=PALETTE[0],
        marker="o",
        capsize=3,
        label="estimate ± std (chains)",
    )
    if bad.any():
        ax.plot(
            scan.step_sizes[bad],
            scan.mean[bad],
            "s",
            color=PALETTE[1],
            ms=11,
            mfc="none",
            mew=1.5,
            label="not converged",
        )
    if scan.diverged.any():
        ax.plot(  # at the top edge of the axes, whatever their y-limits
            scan.step_sizes[scan.diverged],
            np.full(scan.diverged.sum(), 0.95),
            "x",
            transform=ax.get_xaxis_transform(),
            color=PALETTE[1],
            ms=10,
            mew=2,
            label="diverged",
        )
    if exact is not None:
        ax.axhline(exact, color=COLORS["theory"], ls="--", lw=1.5, label="exact")
    ax.set_xscale("log")
    label(ax, r"step size $\varepsilon$", r"LLC estimate $\hat\lambda$", "Step-size scan", legend=True)
    return ax


def plot_llc_traces(result: Any, ax: Any = None, *, exact: float | None = None, running: bool = True) -> Any:
    """Per-chain running LLC estimates (or raw ``nbeta (L - L*)`` per draw) of a :class:`utils.llc.LLCResult` (chapter 9)."""
    if ax is None:
        _, ax = subplots(1, 1)
    traces = result.llc_trace if running else result.nbeta * (result.loss_trace - result.init_loss)
    draws = np.arange(1, traces.shape[1] + 1)
    for c, tr in enumerate(traces):
        ax.plot(draws, tr, lw=1.2 if running else 0.6, color=PALETTE[c % len(PALETTE)], label=f"chain {c}")
    if exact is not None:
        ax.axhline(exact, color=COLORS["theory"], ls="--", lw=1.5, label="exact")
    what = "running mean of " if running else ""
    label(ax, "draw (after burn-in)", what + r"$n\beta\,(L_n(w) - L_n(w^*))$", "LLC traces")
    return ax
