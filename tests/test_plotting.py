"""utils.plotting smoke test: the style applies, the helpers draw what they say, a figure renders."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display in tests

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PolyCollection

from utils import plotting


@pytest.fixture(autouse=True)
def _restore_rcparams():
    with matplotlib.rc_context():
        yield
    plt.close("all")


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


def test_label_band_and_colours_draw_and_render() -> None:
    fig, ax = plotting.subplots()
    x = np.linspace(0, 1, 20)
    plotting.band(ax, x, x**2, 0.1 * np.ones_like(x), label="$x^2$")
    ax.plot(x, x, color=plotting.COLORS["theory"], label="theory")
    plotting.label(ax, "temperature $T$ ($J/k_B$)", "energy per spin", "A title", legend=True)
    assert ax.get_xlabel() == "temperature $T$ ($J/k_B$)" and ax.get_ylabel() == "energy per spin"
    assert ax.get_title() == "A title"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["$x^2$", "theory"]
    band = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(band) == 1  # the shaded mean +- err band
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
