"""The course's figure style and small helpers (all chapters).

Call :func:`use_style` once (``utils.runtime.setup`` does); then make figures with
:func:`subplots` and finish each axis with :func:`label`, so every figure has labelled
axes and a title.

The style is sized for the book: a figure is at most :data:`MAX_WIDTH` inches wide, which
the book shows at full size in its text column (1 inch = :data:`DPI` screen pixels), so
every font of at least :data:`MIN_FONT_PT` points is at least that large on screen.
Figures render at twice that resolution for sharp text on high-density screens. On a phone
(420 px) the book shows a full-width figure across the whole screen, at about 0.64 of its
size; the smallest font, 11 pt, is then still about 9.7 px (``make check-pages`` checks 9 px).
"""

from __future__ import annotations

import math
import sys
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.transforms import ScaledTranslation

from ._validate import check_int, check_real

__all__ = [
    "CMAP",
    "COLORS",
    "DPI",
    "MAX_WIDTH",
    "MIN_FONT_PT",
    "PALETTE",
    "SEQUENTIAL_RANGE",
    "colors",
    "figure_legend",
    "label",
    "legend",
    "plot_llc_traces",
    "plot_step_size_scan",
    "sequential",
    "subplots",
    "use_style",
]

#: Widest figure (inches) that the book's text column (688 px at 1280 px) shows at full size,
#: with the 0.1-inch margin that Jupyter adds on each side when it crops a figure.
MAX_WIDTH: float = 6.6
#: Screen pixels per inch of a figure in the book; at this density 10 pt is 13.9 px (10.4 CSS pt).
DPI: int = 100
#: Smallest font size (points) the style uses anywhere: 11 pt keeps figure text at about 9.7 px
#: on a 420 px phone screen, where a full-width figure is shown at 0.64 of its size.
MIN_FONT_PT: float = 11.0

#: A colour-blind-safe palette (Okabe & Ito, without its yellow, which is unreadable on
#: white), used in this order by every figure.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # green
    "#CC79A7",  # purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
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

#: Colormap for heat maps (an image fills its axes, so its bright end never meets white).
CMAP: str = "viridis"
#: Part of a colormap used for families of curves: viridis up to 0.58 keeps a contrast
#: of at least 3:1 against white (its yellow end has 1.3:1) and starts clear of black.
SEQUENTIAL_RANGE: tuple[float, float] = (0.1, 0.58)

_STYLE: dict[str, Any] = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": DPI,
    "savefig.dpi": 2 * DPI,
    "figure.facecolor": "white",  # also in the dark theme of the book
    "savefig.facecolor": "white",
    "figure.constrained_layout.use": True,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 12,
    "axes.titlesize": 12,
    "axes.labelsize": 12,
    "figure.titlesize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "legend.title_fontsize": 11,
    "legend.frameon": False,
    "lines.linewidth": 2.0,
    "image.cmap": CMAP,
}


def use_style() -> None:
    """Apply the course style to matplotlib (idempotent); in Jupyter, render figures at 2x."""
    mpl.rcParams.update(_STYLE)
    mpl.rcParams["axes.prop_cycle"] = mpl.cycler(color=list(PALETTE))
    ipython = sys.modules.get("IPython")
    if ipython is not None and ipython.get_ipython() is not None:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")  # a 2x PNG shown at 1x: sharp, and zooms well


def _row_height(ncols: int) -> float:
    """Default height (inches) of one row of panels: shorter when panels are narrow."""
    return 4.0 if ncols == 1 else 3.2 if ncols == 2 else 2.6


def _panels(
    num_panels: int,
    *,
    ncols: int = 2,
    width: float | None = None,
    height: float | None = None,
    sharex: bool = False,
    sharey: bool = False,
) -> tuple[plt.Figure, list[plt.Axes]]:
    """``num_panels`` panels, ``ncols`` to a row (an odd last panel is centred); returns (fig, axes list).

    The layout for multi-panel figures: two panels per row rather than one long row, so that
    each panel keeps readable ticks and titles at the book's width.
    """
    n = check_int("num_panels", num_panels, minimum=1)
    ncols = min(check_int("ncols", ncols, minimum=1), n)
    nrows = math.ceil(n / ncols)
    use_style()
    w = min(width if width is not None else MAX_WIDTH, MAX_WIDTH)
    h = height if height is not None else nrows * _row_height(ncols) + 0.3
    fig = plt.figure(figsize=(w, h))
    grid = fig.add_gridspec(nrows, 2 * ncols)  # half-columns, to centre a short last row
    axes: list[plt.Axes] = []
    for i in range(n):
        row, col = divmod(i, ncols)
        in_row = min(ncols, n - row * ncols)
        start = 2 * col + (ncols - in_row)
        share = {"sharex": axes[0] if sharex and axes else None, "sharey": axes[0] if sharey and axes else None}
        axes.append(fig.add_subplot(grid[row, start : start + 2], **share))
    return fig, axes


def subplots(
    nrows: int = 1, ncols: int = 1, *, width: float | None = None, height: float | None = None, **kwargs: Any
) -> tuple[plt.Figure, Any]:
    """``plt.subplots`` in the course style, at most :data:`MAX_WIDTH` wide.

    A single row of more than two panels is laid out in two rows (the axes come back as the
    same 1-D array, in the same order), so that no panel is squeezed to a few characters.
    """
    nrows = check_int("nrows", nrows, minimum=1)
    ncols = check_int("ncols", ncols, minimum=1)
    width = None if width is None else check_real("width", width, positive=True)
    height = None if height is None else check_real("height", height, positive=True)
    use_style()
    w_req = width if width is not None else 4.2 * ncols + 0.6
    h_req = height if height is not None else _row_height(ncols) * nrows + 0.3
    if nrows == 1 and ncols > 2 and not kwargs.get("gridspec_kw") and kwargs.get("squeeze", True):
        per_row = math.ceil(ncols / 2)
        # keep each panel's shape: scale its height with its new width (text keeps its size)
        scale = min(1.0, (MAX_WIDTH / per_row) / (w_req / ncols))
        row_h = h_req * (0.5 + 0.5 * scale)
        share = {k: kwargs.pop(k) in (True, "all", "row") for k in ("sharex", "sharey") if k in kwargs}
        fig, axes = _panels(ncols, ncols=per_row, width=MAX_WIDTH, height=2 * row_h, **share)
        if kwargs:
            raise TypeError(f"subplots got arguments it cannot pass on when wrapping: {sorted(kwargs)}")
        return fig, np.array(axes, dtype=object)
    w = min(w_req, MAX_WIDTH)
    h = h_req if w == w_req else h_req * (0.5 + 0.5 * w / w_req)
    return plt.subplots(nrows, ncols, figsize=(w, h), **kwargs)


def label(ax: plt.Axes, xlabel: str, ylabel: str, title: str | None = None, *, legend: bool = False) -> plt.Axes:
    """Label an axis (units in the label, mathtext for symbols: ``"temperature $T$ ($J/k_B$)"``)."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, wrap=True)  # a long title wraps instead of widening the figure
    if legend:
        _add_legend(ax)
    return ax


def _data_points(ax: plt.Axes) -> np.ndarray:
    """Display coordinates of the data drawn on ``ax`` (lines densified, markers, paths, the area of bars)."""
    pts = []
    for line in ax.get_lines():
        if not line.get_visible():
            continue
        xy = line.get_transform().transform(np.column_stack(line.get_data(orig=False)).astype(float))
        xy = xy[np.all(np.isfinite(xy), axis=1)]
        if line.get_linestyle() not in ("None", "", " ") and len(xy) > 1:
            steps = np.maximum(2, (np.hypot(*np.diff(xy, axis=0).T) / 3).astype(int))
            xy = np.concatenate([np.linspace(a, b, k) for a, b, k in zip(xy[:-1], xy[1:], steps, strict=True)])
        pts.append(xy)
    for coll in ax.collections:
        offsets = coll.get_offsets()
        if len(offsets):
            pts.append(coll.get_offset_transform().transform(offsets))
        for path in coll.get_paths():
            pts.append(coll.get_transform().transform(path.interpolated(20).vertices))
    for container in ax.containers:  # a bar is data over its whole area, not only its edges
        if isinstance(container, mpl.container.BarContainer):
            for bar in container:
                box = bar.get_window_extent()
                gx, gy = np.meshgrid(np.linspace(box.x0, box.x1, 8), np.linspace(box.y0, box.y1, 8))
                pts.append(np.column_stack([gx.ravel(), gy.ravel()]))
    return np.concatenate(pts) if pts else np.empty((0, 2))


def _covers_data(leg: mpl.legend.Legend, points: np.ndarray, renderer: Any) -> bool:
    box = leg.get_window_extent(renderer)
    inside = (points[:, 0] > box.x0) & (points[:, 0] < box.x1) & (points[:, 1] > box.y0) & (points[:, 1] < box.y1)
    return bool(inside.any())


def _slot_width(ax: plt.Axes) -> float:
    """Width in pixels of the grid column(s) that ``ax`` occupies (the figure's for a lone axes)."""
    width = ax.figure.bbox.width
    spec = ax.get_subplotspec() if hasattr(ax, "get_subplotspec") else None
    if spec is None:
        return width
    cols = spec.colspan
    return width * (cols.stop - cols.start) / spec.get_gridspec().ncols


def legend(ax: plt.Axes, *, loc: str | None = None, **kwargs: Any) -> mpl.legend.Legend | None:
    """Add a legend that covers no data: the best free corner, else below the axes.

    Lines are checked along their whole length, not only at their vertices. Axes that hold
    an image (a heat map) always get the legend below them.
    """
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    if loc is not None:
        return ax.legend(loc=loc, **kwargs)
    fig = ax.figure
    fig.draw_without_rendering()  # lay the figure out, so that positions are final
    renderer = fig.canvas.get_renderer()
    points = _data_points(ax)
    if not (ax.images or any(isinstance(c, mpl.collections.QuadMesh) for c in ax.collections)):
        for where in (
            "best",
            "upper right",
            "upper left",
            "lower left",
            "lower right",
            "center right",
            "center left",
            "upper center",
            "lower center",
        ):
            leg = ax.legend(loc=where, **kwargs)
            if not _covers_data(leg, points, renderer):
                return leg
    # below the axes: under the tick labels and the x label, in as many columns as fit the figure
    below = ax.get_tightbbox(renderer)
    drop = (ax.get_window_extent(renderer).y0 - below.y0) / fig.dpi + 0.08  # inches
    offset = ax.transAxes + ScaledTranslation(0, -drop, fig.dpi_scale_trans)
    room = _slot_width(ax) - 2 * fig.dpi * 0.05  # its own column of the grid, not its neighbours'
    for ncol in range(kwargs.pop("ncol", min(len(handles), 3)), 0, -1):
        leg = ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0), bbox_transform=offset, ncol=ncol, **kwargs)
        if leg.get_window_extent(renderer).width <= room:
            break
    return leg


def figure_legend(fig: plt.Figure, handles: Any = None, labels: Any = None, **kwargs: Any) -> mpl.legend.Legend:
    """One legend for the whole figure, below every panel, in as many columns as fit its width.

    A ``fig.legend(..., ncol=4)`` of long entries is wider than the figure; the book's tight
    crop then widens the image past the column and the page shrinks it (chapter 5).
    """
    if handles is None:
        handles, labels = [], []
        for ax in fig.axes:
            for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                if lab not in labels:
                    handles.append(h)
                    labels.append(lab)
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    room = fig.bbox.width - 2 * fig.dpi * 0.05
    for ncol in range(kwargs.pop("ncol", min(len(handles), 4)), 0, -1):
        leg = fig.legend(handles, labels, loc="outside lower center", ncol=ncol, **kwargs)
        if ncol == 1 or leg.get_window_extent(renderer).width <= room:
            return leg
        leg.remove()
    raise AssertionError("unreachable")  # pragma: no cover


_add_legend = legend  # label() has an argument named legend


def colors(num_colors: int) -> list[str]:
    """``num_colors`` colours from the palette (cycled if ``num_colors`` exceeds it)."""
    num_colors = check_int("num_colors", num_colors, minimum=1)
    return [PALETTE[i % len(PALETTE)] for i in range(num_colors)]


def sequential(num_colors: int, cmap: str = "viridis") -> list[tuple[float, float, float, float]]:
    """``num_colors`` colours along :data:`SEQUENTIAL_RANGE` of a colormap, for curves ordered by a parameter."""
    num_colors = check_int("num_colors", num_colors, minimum=1)
    if not (isinstance(cmap, str) and cmap in mpl.colormaps):
        raise ValueError(f"cmap must be the name of a matplotlib colormap, e.g. 'viridis', got {cmap!r}")
    cm = mpl.colormaps[cmap]
    lo, hi = SEQUENTIAL_RANGE
    return [cm(x) for x in np.linspace(lo, hi, num_colors)]


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
