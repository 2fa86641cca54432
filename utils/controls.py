"""Figures with controls that work without a kernel (the "Explore" figures of chapters 1-5, 8).

:func:`explore` draws a figure once for every point of a grid of control values and returns
one HTML view: the figure at the starting values, a slider (a menu, for text values) per
control, and a few lines of JavaScript that show the frame drawn for the values chosen. The
same output works in Jupyter, Colab and the static book, so there is one code path: nothing
needs a running kernel, and every frame is drawn by the notebook's own code, so the figure's
labels always show the values of the controls. Two controls make a grid of frames
(``len(a) * len(b)``), so keep each grid coarse (:data:`MAX_FRAMES`)::

    def draw(p, L):
        fig, ax = subplots()
        ...  # a title that shows p and L
        return fig

    explore(draw, p=Slider([0.9, 0.95, 0.99], value=0.95, fmt="{:.2f}"),
            L=Slider([5, 10, 20, 50]), alt="Task accuracy p^L against p.")

Frames are PNGs at the book's resolution (2x the screen's), reduced to a palette of
:data:`COLOURS` colours, which keeps a line plot near 25 kB.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from ._validate import check_callable

__all__ = ["COLOURS", "MAX_FRAMES", "Explorer", "Slider", "explore"]

#: Most frames one control may draw (a chapter page, with its images, stays under 8 MB).
MAX_FRAMES: int = 200
#: Palette size of each frame (anti-aliased lines and text need no more).
COLOURS: int = 64

_FMT_CHECK = re.compile(r"\{(:[^{}]*)?\}")


@dataclass(frozen=True)
class Slider:
    """One control: the ``values`` it steps through, the ``value`` it starts at (default: the
    middle one), its ``label`` (default: the argument's name; ``_x`` is a subscript) and the
    format of its readout, e.g. ``"{:.3f}"``. Text values make a menu instead of a slider."""

    values: Sequence[Any]
    value: Any = None
    label: str | None = None
    fmt: str = "{}"

    def __post_init__(self) -> None:
        values = list(self.values.tolist() if isinstance(self.values, np.ndarray) else self.values)
        if not values:
            raise ValueError("values must hold at least one value, got an empty sequence")
        text = [isinstance(v, str) for v in values]
        if any(text) and not all(text):
            raise TypeError(f"values must be all numbers or all strings, got {values!r}")
        if not all(text) and not all(isinstance(v, Real) and not isinstance(v, bool) for v in values):
            raise TypeError(f"values must be real numbers or strings, got {values!r}")
        if len(set(values)) != len(values):
            raise ValueError(f"values must be distinct, got {values!r}")
        if not isinstance(self.fmt, str) or len(_FMT_CHECK.findall(self.fmt)) != 1:
            raise ValueError(f"fmt must hold one replacement field such as '{{:.3f}}', got {self.fmt!r}")
        if self.value is not None and self.value not in values:
            raise ValueError(f"value must be one of values {values!r}, got {self.value!r}")
        object.__setattr__(self, "values", values)

    @property
    def start(self) -> int:
        """Index of the starting value."""
        return len(self.values) // 2 if self.value is None else self.values.index(self.value)

    @property
    def is_menu(self) -> bool:
        return isinstance(self.values[0], str)

    def readouts(self) -> list[str]:
        return [self.fmt.format(v) for v in self.values]


def _label_html(text: str) -> str:
    """Escape a label; ``_w`` or ``_{10}`` after a letter becomes a subscript."""
    return re.sub(r"_\{?([A-Za-z0-9]+)\}?", r"<sub>\1</sub>", html.escape(text))


def _render_frame(fig: plt.Figure) -> str:
    """The figure as a palette PNG at the book's resolution (``savefig.dpi``), base64-encoded."""
    fig.set_dpi(mpl.rcParams["savefig.dpi"])
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgb = Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
    small = rgb.quantize(colors=COLOURS, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    small.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


@dataclass(frozen=True)
class Explorer:
    """Precomputed frames of a figure over a grid of controls; shows itself as HTML."""

    names: tuple[str, ...]
    sliders: tuple[Slider, ...]
    frames: tuple[str, ...]  # base64 PNGs, row-major over the controls' values
    size: tuple[int, int]  # width, height of a frame in screen pixels (half its pixels)
    alt: str

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(s.values) for s in self.sliders)

    @property
    def strides(self) -> tuple[int, ...]:
        shape = self.shape
        return tuple(int(np.prod(shape[k + 1 :])) for k in range(len(shape)))

    def frame_index(self, **values: Any) -> int:
        """Index into :attr:`frames` of the frame drawn for ``values`` (one per control)."""
        if set(values) != set(self.names):
            raise ValueError(f"values must name each control {list(self.names)}, got {sorted(values)}")
        index = 0
        for name, slider, stride in zip(self.names, self.sliders, self.strides, strict=True):
            if values[name] not in slider.values:
                raise ValueError(f"{name} must be one of {slider.values!r}, got {values[name]!r}")
            index += slider.values.index(values[name]) * stride
        return index

    @property
    def nbytes(self) -> int:
        """Size of the frames as embedded in the page (base64 text)."""
        return sum(len(f) for f in self.frames)

    def _repr_html_(self) -> str:
        key = hashlib.sha1("".join(self.frames).encode()).hexdigest()[:12]
        uid = f"ptdl-control-{key}"
        start = [s.start for s in self.sliders]
        first = sum(i * s for i, s in zip(start, self.strides, strict=True))
        spec = {
            "names": list(self.names),
            "readouts": [s.readouts() for s in self.sliders],
            "strides": list(self.strides),
            "alt": self.alt,
            "frames": list(self.frames),
        }
        data = json.dumps(spec, separators=(",", ":")).replace("</", "<\\/")
        rows = []
        for k, (name, slider) in enumerate(zip(self.names, self.sliders, strict=True)):
            label = _label_html(slider.label or name)
            readout = html.escape(slider.readouts()[start[k]])
            if slider.is_menu:
                options = "".join(
                    f'<option value="{i}"{" selected" if i == start[k] else ""}>{html.escape(text)}</option>'
                    for i, text in enumerate(slider.readouts())
                )
                field = f'<select data-param="{k}" aria-label="{html.escape(name)}">{options}</select>'
                rows.append(f"<label>{label} {field}</label>")
            else:
                field = (
                    f'<input type="range" data-param="{k}" min="0" max="{len(slider.values) - 1}" step="1" '
                    f'value="{start[k]}" aria-label="{html.escape(name)}" aria-valuetext="{readout}">'
                )
                rows.append(f'<label>{label} {field}<output data-for="{k}">{readout}</output></label>')
        values = ", ".join(f"{n} = {s.readouts()[i]}" for n, s, i in zip(self.names, self.sliders, start, strict=True))
        width, height = self.size
        return (
            f'<div class="ptdl-control" id="{uid}">'
            f"<style>{_CSS}</style>"
            f'<div class="ptdl-control-inputs">{"".join(rows)}</div>'
            f'<img src="data:image/png;base64,{self.frames[first]}" width="{width}" height="{height}" '
            f'alt="{html.escape(self.alt)} ({html.escape(values)})">'
            f'<script type="application/json" class="ptdl-control-data">{data}</script>'
            f"<script>{_JS.replace('__ID__', uid)}</script>"
            "</div>"
        )

    def __repr__(self) -> str:
        controls = ", ".join(f"{n}: {len(s.values)} values" for n, s in zip(self.names, self.sliders, strict=True))
        return f"<Explorer of {len(self.frames)} frames ({controls}); shown as HTML in Jupyter and the book>"


# Scoped to the control; the book's theme variables when present (light and dark), else inherit.
_CSS = (
    ".ptdl-control{max-width:100%;margin:0.5rem 0}"
    ".ptdl-control img{display:block;max-width:100%;height:auto}"
    ".ptdl-control-inputs{display:flex;flex-wrap:wrap;gap:0.3rem 1.4rem;margin:0 0 0.4rem;"
    "font-size:0.95rem;color:inherit;background:transparent}"
    ".ptdl-control-inputs label{display:flex;align-items:center;gap:0.5rem;margin:0}"
    ".ptdl-control-inputs input[type=range]{width:11rem;max-width:48vw;"
    "accent-color:var(--pst-color-primary,#0a7d91);background:transparent}"
    ".ptdl-control-inputs output{font-variant-numeric:tabular-nums;min-width:3.5em}"
    ".ptdl-control-inputs select{font:inherit;color:inherit;background:transparent;"
    "border:1px solid currentColor;border-radius:4px;padding:0.1rem 0.3rem}"
    ".ptdl-control-inputs select option{color:#222;background:#fff}"
)

# Shows the frame of the chosen values; updates the readouts and the image's alt text.
_JS = """(function () {
  var root = document.getElementById("__ID__");
  if (!root || root.getAttribute("data-ready")) { return; }
  root.setAttribute("data-ready", "1");
  var spec = JSON.parse(root.querySelector("script.ptdl-control-data").textContent);
  var img = root.querySelector("img");
  var fields = root.querySelectorAll("[data-param]");
  function show() {
    var index = 0, said = [];
    for (var k = 0; k < fields.length; k++) {
      var i = parseInt(fields[k].value, 10);
      var text = spec.readouts[k][i];
      index += i * spec.strides[k];
      var out = root.querySelector('output[data-for="' + k + '"]');
      if (out) { out.textContent = text; }
      if (fields[k].tagName === "INPUT") { fields[k].setAttribute("aria-valuetext", text); }
      said.push(spec.names[k] + " = " + text);
    }
    img.src = "data:image/png;base64," + spec.frames[index];
    img.alt = spec.alt + " (" + said.join(", ") + ")";
  }
  for (var k = 0; k < fields.length; k++) {
    fields[k].addEventListener("input", show);
    fields[k].addEventListener("change", show);
  }
})();"""


def explore(draw: Callable[..., plt.Figure | None], *, alt: str, **controls: Slider) -> Explorer:
    """Draw ``draw(**values)`` for every combination of the controls' values; show it as a
    figure with sliders that needs no kernel (Jupyter, Colab and the static book alike).

    ``draw`` makes a new figure and returns it (or leaves it current); each is closed after it
    is rendered. ``alt`` describes the figure for a screen reader (the values are appended).
    """
    draw = check_callable("draw", draw, "draw(**values) -> matplotlib Figure")
    if not isinstance(alt, str) or not alt.strip():
        raise ValueError("alt must describe the figure for a screen reader, got an empty text")
    if not controls:
        raise ValueError("explore needs at least one control, e.g. p=Slider([0.9, 0.99])")
    for name, slider in controls.items():
        if not isinstance(slider, Slider):
            raise TypeError(f"{name} must be a Slider, got {type(slider).__name__}")
    names = tuple(controls)
    sliders = tuple(controls.values())
    count = int(np.prod([len(s.values) for s in sliders]))
    if count > MAX_FRAMES:
        shape = " x ".join(str(len(s.values)) for s in sliders)
        raise ValueError(
            f"controls make {shape} = {count} frames, more than MAX_FRAMES = {MAX_FRAMES}: use fewer values"
        )
    frames, size = [], None
    for combo in itertools.product(*(s.values for s in sliders)):
        fig = draw(**dict(zip(names, combo, strict=True)))
        fig = plt.gcf() if fig is None else fig
        if not isinstance(fig, plt.Figure):
            raise TypeError(f"draw must return a matplotlib Figure (or None), got {type(fig).__name__}")
        try:
            frame_size = tuple(int(round(v * mpl.rcParams["figure.dpi"])) for v in fig.get_size_inches())
            frames.append(_render_frame(fig))
        finally:
            plt.close(fig)  # closed, so Jupyter shows no inline copy of each frame
        if size is None:
            size = frame_size
        elif frame_size != size:
            raise ValueError(f"draw must make figures of one size, got {size} and then {frame_size} pixels")
    assert size is not None
    return Explorer(names, sliders, tuple(frames), (size[0], size[1]), alt.strip())
