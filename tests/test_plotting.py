"""utils.plotting: figures fit the book's column, fonts stay readable, legends stay off the data,
image panels are framed, and line colours keep their contrast against white."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgb
from PIL import Image

from utils import plotting

#: The book's text column at a 1280 px window (tests/check_pages.py measures it).
COLUMN_PX = 688


@pytest.fixture(autouse=True)
def _restore_rcparams():
    with matplotlib.rc_context():
        yield
    plt.close("all")


def _png_width(fig: plt.Figure) -> int:
    """Width in pixels of the figure as the notebook saves it (tight box, savefig dpi)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return Image.open(buf).size[0]


def _text_sizes(fig: plt.Figure) -> list[float]:
    """Font sizes (points) of every non-empty, visible text in ``fig``."""
    return [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip() and t.get_visible()]


def _fits_column(fig: plt.Figure) -> bool:
    """Whether ``fig``, cropped as Jupyter crops it (tight, plus a margin), fits the book's 688 px column."""
    fig.draw_without_rendering()
    box = fig.get_tightbbox(fig.canvas.get_renderer())
    return bool(box.width + 2 * matplotlib.rcParams["savefig.pad_inches"] <= COLUMN_PX / plotting.DPI)


def _contrast_with_white(color: object) -> float:
    """WCAG 2 contrast ratio of a colour against white (sRGB relative luminance)."""
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgb(color)]
    luminance = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return 1.05 / (luminance + 0.05)


@pytest.mark.parametrize(
    "shape,size",
    [((1, 1), {}), ((1, 2), {"width": 12, "height": 4}), ((2, 2), {"width": 10, "height": 7.5}), ((3, 5), {})],
)
def test_figures_fit_the_column_at_full_resolution(shape, size) -> None:
    fig, _ = plotting.subplots(*shape, **size)
    assert fig.get_size_inches()[0] <= plotting.MAX_WIDTH + 1e-9
    # rendered at 2x for sharp text and shown at 1x: at most 688 screen pixels, the column
    assert _png_width(fig) <= 2 * 688
    assert _fits_column(fig)


def test_the_column_is_as_wide_as_the_book_shows() -> None:
    # the book's text column is 688 px at a 1280 px window (measured by tests/check_pages.py);
    # Jupyter's tight crop adds 0.1 inch on each side, and the page shows 1 inch as DPI pixels: a
    # full-width figure fits the column and fills at least 87 % of it
    assert 0.87 * COLUMN_PX <= (plotting.MAX_WIDTH + 0.2) * plotting.DPI <= COLUMN_PX


def test_a_long_row_of_panels_wraps_into_two_rows_keeping_order_and_shape() -> None:
    fig, axes = plotting.subplots(1, 4, width=16, height=4.2)
    assert axes.shape == (4,)
    fig.draw_without_rendering()
    pos = [ax.get_position() for ax in axes]
    assert pos[0].y0 == pytest.approx(pos[1].y0) and pos[2].y0 == pytest.approx(pos[3].y0)
    assert pos[0].y0 > pos[2].y0  # first row above the second
    assert pos[0].x0 < pos[1].x0 and pos[2].x0 < pos[3].x0
    assert all(p.width * fig.get_size_inches()[0] > 2.4 for p in pos)  # not 1/4 of the width


def test_an_odd_last_panel_is_centred() -> None:
    fig, axes = plotting.subplots(1, 3)
    top, bottom = axes[0].get_position(), axes[2].get_position()
    centre = (bottom.x0 + bottom.x1) / 2
    assert bottom.y0 < top.y0
    assert centre == pytest.approx((axes[0].get_position().x0 + axes[1].get_position().x1) / 2, abs=0.03)


def test_wrapped_panels_share_axes_when_asked() -> None:
    _, axes = plotting.subplots(1, 3, sharey=True)
    axes[0].set_ylim(0, 7)
    assert axes[2].get_ylim() == (0, 7)
    _, axes = plotting.subplots(1, 3)
    axes[0].set_ylim(0, 7)
    assert axes[2].get_ylim() != (0, 7)


def test_panels_helper_lays_out_two_per_row() -> None:
    fig, axes = plotting._panels(5)
    rows = sorted({round(ax.get_position().y0, 3) for ax in axes}, reverse=True)
    assert len(axes) == 5 and len(rows) == 3


def test_every_text_is_at_least_10_points() -> None:
    fig, axes = plotting.subplots(1, 2)
    for ax in axes:
        ax.plot([0, 1], [0, 1], label="a line")
        plotting.label(ax, "$x$ (m)", "$y$ (s)", "a title", legend=True)
    fig.suptitle("figure title")
    fig.colorbar(axes[0].imshow(np.eye(3)), ax=axes[0], label="colour bar")
    fig.draw_without_rendering()
    sizes = _text_sizes(fig)
    assert len(sizes) > 10 and min(sizes) >= plotting.MIN_FONT_PT


def _diagonal_axes() -> plt.Axes:
    _, ax = plotting.subplots(width=5, height=4)
    x = np.linspace(0, 1, 100)
    ax.plot(x, x, label="rising")
    ax.plot(x, x**2, label="parabola")
    return ax


def test_legend_goes_to_a_free_corner() -> None:
    ax = _diagonal_axes()  # data runs along the diagonal: the upper-left corner is free
    leg = plotting.legend(ax)
    ax.figure.draw_without_rendering()
    renderer = ax.figure.canvas.get_renderer()
    box, frame = leg.get_window_extent(renderer), ax.get_window_extent(renderer)
    assert frame.contains(box.x0 + 1, box.y0 + 1) and frame.contains(box.x1 - 1, box.y1 - 1)
    assert not plotting._covers_data(leg, plotting._data_points(ax), renderer)


def test_legend_moves_below_the_axes_when_no_corner_is_free() -> None:
    _, ax = plotting.subplots(width=5, height=4)
    x = np.linspace(0, 1, 200)
    for k in range(6):  # curves everywhere
        ax.plot(x, 0.5 + 0.5 * np.sin(8 * x + k), label=f"curve {k}")
    leg = plotting.legend(ax)
    fig = ax.figure
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    box, frame = leg.get_window_extent(renderer), ax.get_window_extent(renderer)
    assert box.y1 <= frame.y0  # entirely below the plotting area
    xlabel_box = ax.xaxis.get_tightbbox(renderer)
    assert box.y1 <= xlabel_box.y0 + 1  # and below the tick labels and the x label
    assert _fits_column(fig)


def test_legend_on_a_heat_map_goes_below() -> None:
    _, ax = plotting.subplots(width=5, height=4)
    ax.pcolormesh(np.random.default_rng(0).random((5, 5)))
    ax.plot([0, 5], [0, 5], color="black", label="a line")
    leg = plotting.legend(ax)
    ax.figure.draw_without_rendering()
    renderer = ax.figure.canvas.get_renderer()
    assert leg.get_window_extent(renderer).y1 <= ax.get_window_extent(renderer).y0


def test_label_with_legend_uses_the_legend_helper() -> None:
    ax = _diagonal_axes()
    plotting.label(ax, "x", "y", "t", legend=True)
    renderer = ax.figure.canvas.get_renderer()
    assert not plotting._covers_data(ax.get_legend(), plotting._data_points(ax), renderer)


def test_sequential_colours_keep_3_to_1_contrast_on_white() -> None:
    for n in (2, 4, 8):
        assert min(_contrast_with_white(c) for c in plotting.sequential(n)) >= 3.0
    # the palette leaves out Okabe-Ito's yellow (1.3:1 on white)
    assert "#F0E442" not in plotting.PALETTE
    assert min(_contrast_with_white(c) for c in plotting.PALETTE) >= 2.2


def test_bad_arguments_name_themselves() -> None:
    with pytest.raises(ValueError, match=r"^ncols must"):
        plotting.subplots(1, 0)
    with pytest.raises(TypeError, match=r"^num_panels must"):
        plotting._panels(2.5)
    with pytest.raises(TypeError, match=r"^subplots got arguments"):
        plotting.subplots(1, 3, subplot_kw_typo=1)


def test_a_legend_below_never_widens_the_figure() -> None:
    _, ax = plotting.subplots(width=4, height=3)
    x = np.linspace(0, 1, 100)
    for k in range(5):
        ax.plot(x, 0.5 + 0.5 * np.sin(9 * x + k), label=f"a rather long legend entry number {k}")
    plotting.legend(ax)
    assert _fits_column(ax.figure)
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    assert ax.get_legend().get_window_extent(renderer).width <= fig.bbox.width


def test_a_long_title_wraps_inside_the_figure() -> None:
    fig, axes = plotting.subplots(1, 2)
    plotting.label(axes[0], "x", "y", "a title far too long to fit above one of two panels side by side at all")
    assert _fits_column(fig)


# The smoke tests of the style (from main).


def test_use_style_sets_the_palette_and_is_idempotent() -> None:
    plotting.use_style()
    plotting.use_style()
    cycle = [c["color"] for c in matplotlib.rcParams["axes.prop_cycle"]]
    assert cycle == list(plotting.PALETTE)
    assert matplotlib.rcParams["axes.grid"] and not matplotlib.rcParams["axes.spines.top"]


def test_subplots_size_grows_with_panels() -> None:
    fig, ax = plotting.subplots()
    fig2, axes = plotting.subplots(2, 2)
    assert axes.shape == (2, 2)
    w1, h1 = fig.get_size_inches()
    w2, h2 = fig2.get_size_inches()
    assert w2 > w1 and h2 > h1
    fig3, _ = plotting.subplots(width=3.0, height=2.0)
    assert tuple(fig3.get_size_inches()) == (3.0, 2.0)


def test_label_and_colours_draw_and_render() -> None:
    fig, ax = plotting.subplots()
    x = np.linspace(0, 1, 20)
    ax.plot(x, x**2, label="$x^2$")
    ax.plot(x, x, color=plotting.COLORS["theory"], label="theory")
    plotting.label(ax, "temperature $T$ ($J/k_B$)", "energy per spin", "A title", legend=True)
    assert ax.get_xlabel() == "temperature $T$ ($J/k_B$)" and ax.get_ylabel() == "energy per spin"
    assert ax.get_title() == "A title"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["$x^2$", "theory"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), x**2)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")  # mathtext in labels must render
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_colour_helpers() -> None:
    assert plotting.colors(3) == list(plotting.PALETTE[:3])
    assert plotting.colors(len(plotting.PALETTE) + 1)[-1] == plotting.PALETTE[0]  # cycles
    seq = plotting.sequential(5)
    assert len(seq) == 5 and all(len(c) == 4 for c in seq)
    assert seq[0] != seq[-1]


def test_legends_below_neighbouring_panels_do_not_overlap() -> None:
    fig, axes = plotting.subplots(2, 2)
    x = np.linspace(-1, 1, 200)
    for ax in axes.ravel():  # curves through every corner: each legend goes below its panel
        for k in range(3):
            ax.plot(x, (k + 1) * x**2, label=f"entry {k}")
        ax.plot(x, 3 * (1 - x**2), label="a longer entry")
        plotting.legend(ax)
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    boxes = [ax.get_legend().get_window_extent(renderer) for ax in axes.ravel()]
    assert all(box.y1 < ax.get_window_extent(renderer).y0 for box, ax in zip(boxes, axes.ravel(), strict=True))
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), (i, j)


def test_a_figure_legend_fits_the_figure_in_as_many_columns_as_fit() -> None:
    names = [f"{kind} (width 500)" for kind in ("ordered", "critical", "chaotic")] + ["infinite width"]

    def two_panels() -> plt.Figure:
        fig, axes = plotting.subplots(1, 2)
        for ax in axes:
            for k, name in enumerate(names):
                ax.plot([0, 1], [k, k + 1], label=name)
        return fig

    plain = two_panels()
    plain.legend(loc="outside lower center", ncol=4)  # what chapter 5 did: wider than the figure
    assert _png_width(plain) > 2 * 688

    fig = two_panels()
    leg = plotting.figure_legend(fig)
    assert [t.get_text() for t in leg.get_texts()] == names  # each entry once, in order
    assert 1 < leg._ncols < 4
    assert _png_width(fig) <= 2 * 688 and _fits_column(fig)
    few = two_panels()
    assert plotting.figure_legend(few, few.axes[0].get_lines()[:2], names[:2])._ncols == 2  # short: one row


def test_legend_stays_off_bars() -> None:
    _, ax = plotting.subplots(width=4, height=3)
    ax.bar([0, 1, 2], [4.1, 4.9, 4.6], 0.9, label="estimate")  # bars fill the axes up to ~5
    ax.plot([-0.5, 2.5], [5.6, 5.6], label="a line along the top")
    ax.set_xlim(-0.5, 2.5)
    ax.set_ylim(0, 6)
    leg = plotting.legend(ax)
    fig = ax.figure
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    box = leg.get_window_extent(renderer)
    assert not any(box.overlaps(bar.get_window_extent(renderer)) for bar in ax.containers[0])
    assert box.y1 <= ax.get_window_extent(renderer).y0  # no free corner: below the axes
