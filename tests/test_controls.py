"""utils.controls: every combination of the controls' values gets its own frame, drawn by the
notebook's function (so the figure's labels show the values), and the HTML picks the frame that
the controls point at, with no kernel."""

from __future__ import annotations

import base64
import io
import json
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from utils import plotting
from utils.controls import MAX_FRAMES, Explorer, Slider, _render_frame, explore

SEEN: list[tuple] = []


@pytest.fixture(autouse=True)
def _no_open_figures():
    plt.close("all")
    yield
    plt.close("all")


def _draw(a: float, b: str) -> plt.Figure:
    SEEN.append((a, b))
    fig, ax = plotting.subplots(width=3.0, height=2.0)
    x = np.linspace(0, 1, 50)
    ax.plot(x, a * x if b == "line" else a * x**2)
    ax.set_title(f"a = {a:.1f}, {b}")
    return fig


@pytest.fixture
def explorer() -> Explorer:
    SEEN.clear()
    return explore(
        _draw, a=Slider([0.5, 1.0, 2.0], value=1.0, fmt="{:.1f}"), b=Slider(["line", "square"]), alt="A curve."
    )


def _pixels(frame: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(frame))).convert("RGB"))


def test_one_frame_per_grid_point_drawn_with_those_values(explorer: Explorer) -> None:
    assert sorted(SEEN) == sorted((a, b) for a in (0.5, 1.0, 2.0) for b in ("line", "square"))
    assert len(explorer.frames) == 6
    # every frame differs from every other: moving any control changes the picture
    assert len({f for f in explorer.frames}) == 6
    # the frame at (a, b) is the figure _draw makes for (a, b), rendered at 2x the screen size
    index = explorer.frame_index(a=2.0, b="square")
    fig = _draw(2.0, "square")
    expected = _pixels(_render_frame(fig))
    assert np.array_equal(_pixels(explorer.frames[index]), expected)
    assert _pixels(explorer.frames[0]).shape[:2] == (400, 600)  # 3 x 2 inches at savefig.dpi = 200
    assert explorer.size == (300, 200)


def test_frames_are_closed(explorer: Explorer) -> None:
    assert plt.get_fignums() == []


def test_html_starts_at_the_value_and_indexes_frames_row_major(explorer: Explorer) -> None:
    page = explorer._repr_html_()
    spec = json.loads(
        re.search(r'<script type="application/json" class="ptdl-control-data">(.*?)</script>', page).group(1)
    )
    assert spec["strides"] == [2, 1]
    assert spec["readouts"] == [["0.5", "1.0", "2.0"], ["line", "square"]]
    assert spec["frames"] == list(explorer.frames)
    start = explorer.frame_index(a=1.0, b="square")  # value=1.0; b defaults to the middle value (index 1)
    assert f'src="data:image/png;base64,{explorer.frames[start]}"' in page
    assert 'type="range"' in page and "<select" in page and '<option value="1" selected>square' in page
    assert 'alt="A curve. (a = 1.0, b = square)"' in page
    assert 'width="300" height="200"' in page
    # the script looks its control up by an id that the frames determine
    uid = re.search(r'<div class="ptdl-control" id="([^"]+)"', page).group(1)
    assert f'getElementById("{uid}")' in page


def test_label_subscripts_and_escaping() -> None:
    out = explore(lambda s: _draw(s, "line"), s=Slider([1.0, 2.0], label="σ_w <b>"), alt="x & y")._repr_html_()
    assert "σ<sub>w</sub> &lt;b&gt;" in out
    assert 'alt="x &amp; y (s = 2.0)"' in out  # two values: the start is the upper middle one


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="alt"):
        explore(_draw, a=Slider([1.0]), b=Slider(["line"]), alt=" ")
    with pytest.raises(TypeError, match="draw"):
        explore(3, a=Slider([1.0]), alt="x")
    with pytest.raises(TypeError, match="a must be a Slider"):
        explore(_draw, a=[1.0, 2.0], alt="x")
    with pytest.raises(ValueError, match="at least one control"):
        explore(_draw, alt="x")
    with pytest.raises(ValueError, match="MAX_FRAMES"):
        explore(_draw, a=Slider(list(range(MAX_FRAMES))), b=Slider(["line", "square"]), alt="x")
    with pytest.raises(ValueError, match="value must be one of"):
        Slider([1, 2], value=3)
    with pytest.raises(ValueError, match="distinct"):
        Slider([1, 1])
    with pytest.raises(TypeError, match="all numbers or all strings"):
        Slider([1, "a"])
    with pytest.raises(ValueError, match="fmt"):
        Slider([1, 2], fmt="{:.1f} {}")
    with pytest.raises(ValueError, match="b must be one of"):
        explore(_draw, a=Slider([1.0]), b=Slider(["line", "square"]), alt="x").frame_index(a=1.0, b="cube")


def test_figures_of_different_sizes_are_refused() -> None:
    def draw(w: float) -> plt.Figure:
        fig, _ = plt.subplots(figsize=(w, 2))
        return fig

    with pytest.raises(ValueError, match="one size"):
        explore(draw, w=Slider([2.0, 3.0]), alt="x")
