"""Look at every page of the built book as a reader does, with headless Chromium.

    python tests/check_pages.py [--html _build/html] [--out _build/pagecheck] [page.html ...]

(``make check-pages`` builds the book if needed, installs the assets and runs this.)

Every page is loaded at 1280 px and at 420 px wide, in the light and the dark theme, with
MathJax 3 and the Jupyter widget manager served from local copies (the npm packages in
``.pagecheck/node_modules``); every other network request is refused, so the check also
shows that the pages work offline. A full-page screenshot of each is saved to ``--out``.
The check fails on:

- raw TeX in the text (``$...$``, ``\\frac``, ``\\(``) or a MathJax error;
- raw reStructuredText or MyST (``.. directive::``, ``:role:`x```, ``{role}`x```, ``:::``);
- a code or output line wider than its column at 1280 px (the reader would have to scroll);
- display math wider than the page at 420 px, or a page wider than the screen;
- a figure shown smaller than it was drawn at 1280 px (its fonts then fall below 10 pt), or an
  image that does not load;
- a figure without a numbered caption ("Figure 7.3") or without alt text (a file name is not
  one), a link "Figure N.M" to a figure whose number is not N.M, and figure text below
  :data:`MIN_TEXT_PX` screen pixels at 420 px (the style's smallest font, scaled as shown);
- a control (:mod:`utils.controls`) that does not change its figure when moved (each control is
  moved in every view), frames that repeat, a control on a box of its own in the dark theme, and
  ipywidgets (their controls need a kernel, which the book does not have);
- a chapter page heavier than :data:`MAX_PAGE_MB` with its images;
- network requests that had to be refused.

It talks to Chromium over the DevTools protocol (a websocket, via tornado, which Jupyter
already installs). Chromium: ``apt-get install chromium`` (Debian/Ubuntu), or set
``CHROMIUM=/path/to/chrome``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import mimetypes
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / ".pagecheck" / "node_modules"
#: CDN prefixes the book loads, and the local folders that replace them.
CDN = {
    "https://cdn.jsdelivr.net/npm/mathjax@3/": "mathjax/",
    "https://cdn.jsdelivr.net/npm/@jupyter-widgets/html-manager@1.0.6/": "@jupyter-widgets/html-manager/",
    "https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.4/require.min.js": "requirejs/require.js",
}
WIDTHS = (1280, 420)
VIEW_HEIGHT = 900
THEMES = ("light", "dark")
SKIP_PAGES = {"genindex.html", "search.html", "py-modindex.html"}
#: Smallest legible figure text (CSS px): the style's smallest font (utils.plotting.MIN_FONT_PT at
#: utils.plotting.DPI) shown at the figure's scale on the page must be at least this large.
MIN_TEXT_PX = 9.0
MIN_FONT_PX = 11.0 * 100 / 72  # utils.plotting.MIN_FONT_PT (11 pt) at utils.plotting.DPI (100 px per inch)
#: A chapter page, its HTML and the images it shows, weighs at most this much.
MAX_PAGE_MB = 8.0

# Runs in the page after it has loaded and MathJax has typeset; returns what it found.
PROBE = r"""
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  await new Promise(r => setTimeout(r, 400));
  const out = {rawTex: [], rawMarkup: [], wideCode: [], wideMath: [], smallFigures: [], brokenImages: [],
               mathErrors: 0, pageWidth: document.documentElement.scrollWidth, viewport: window.innerWidth,
               height: document.documentElement.scrollHeight, widgetsExpected: 0, widgetsRendered: 0};
  const article = document.querySelector("main") || document.body;
  const skip = "script, style, pre, code, textarea, mjx-container, .MathJax, .highlight, .cell_input, " +
               ".cell_output, .output, .sig, .headerlink, .jupyter-widgets, .widget-subarea";
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  const tex = /\$[^$\s][^$]*\$|\\\(|\\\[|\\(frac|begin|end|mathbb|mathcal|sum|int|sqrt|alpha|beta|gamma|lambda|left|right)\b/;
  const markup = /(^|\s)\.\. [a-z][a-z:-]*::|:[a-z]+:`[^`]+`|\{[a-z][a-z:-]*\}`|^\s*:::|```/;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest(skip)) { continue; }
    const text = node.textContent;
    if (tex.test(text)) { out.rawTex.push(text.trim().slice(0, 120)); }
    if (markup.test(text)) { out.rawMarkup.push(text.trim().slice(0, 120)); }
  }
  // authoring syntax in inline code outside code cells: `{term}` or ``{func}`x` `` shown to the reader
  for (const code of article.querySelectorAll("code")) {
    if (code.closest(".cell_input, .cell_output, .highlight, pre")) { continue; }
    if (/\{(term|ref|doc|numref|eq|cite|cite:p|cite:t|func|mod|class|data|meth|attr|download)\}/.test(code.textContent)) {
      out.rawMarkup.push("authoring syntax: " + code.textContent.trim().slice(0, 100));
    }
  }
  out.mathErrors = article.querySelectorAll("mjx-merror, .MathJax_Error").length;
  for (const pre of article.querySelectorAll(".cell_input pre, .cell_output pre, div.highlight pre")) {
    if (pre.scrollWidth > pre.clientWidth + 1 && pre.clientWidth > 0) {
      const lines = pre.textContent.split("\n");
      const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), "");
      out.wideCode.push({chars: longest.length, over: pre.scrollWidth - pre.clientWidth,
                         line: longest.slice(0, 100)});
    }
  }
  for (const m of article.querySelectorAll('mjx-container[display="true"]')) {
    const box = m.getBoundingClientRect(), inner = m.firstElementChild.getBoundingClientRect();
    const parent = m.parentElement.getBoundingClientRect();
    if (inner.width > parent.width + 1 || box.right > window.innerWidth + 1) {
      let source = "";
      try { source = MathJax.startup.document.getMathItemsWithin(m)[0].math; } catch (e) {}
      out.wideMath.push({width: Math.round(inner.width), room: Math.round(parent.width),
                         tex: source.trim().slice(0, 100)});
    }
  }
  for (const img of article.querySelectorAll("img")) {
    if (!img.complete || img.naturalWidth === 0) { out.brokenImages.push(img.getAttribute("src")); continue; }
    if (!img.closest(".cell_output")) { continue; }
    // utils.plotting saves figures at twice the screen density (savefig.dpi = 2 * DPI, sharp on
    // high-density screens): shown at half its pixel width, a figure is at full size
    const drawn = parseFloat(img.getAttribute("width")) || img.naturalWidth / 2;
    if (img.clientWidth < 0.97 * drawn) {
      out.smallFigures.push({drawn: Math.round(drawn), shown: img.clientWidth,
                             scale: Math.round(100 * img.clientWidth / drawn) / 100});
    }
  }
  out.widgetsExpected = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length;
  out.widgetsRendered = document.querySelectorAll(".jupyter-widgets, .widget-container, .widget-inline-hbox").length;
  // Figures: every image a cell draws sits in a numbered figure and has alt text that is not a file name.
  out.figures = 0; out.uncaptioned = []; out.noAlt = []; out.smallText = []; out.cutFigures = [];
  for (const img of article.querySelectorAll(".cell_output img")) {
    out.figures += 1;
    const figure = img.closest("figure");
    const number = figure && figure.querySelector("figcaption .caption-number");
    const where = (figure && figure.id) || (img.getAttribute("src") || "").slice(0, 60);
    if (!number || !/^Figure \d+\.\d+/.test(number.textContent.trim())) { out.uncaptioned.push(where); }
    const alt = (img.getAttribute("alt") || "").trim();
    if (alt.length < 8 || /(^|\/)[^ ]+\.(png|jpe?g|svg|gif)$|_images\//i.test(alt)) { out.noAlt.push(where + ": " + alt.slice(0, 60)); }
    const box = img.getBoundingClientRect();
    if (box.width > 0 && (box.left < -1 || box.right > window.innerWidth + 1)) {
      out.cutFigures.push(where + ": " + Math.round(box.left) + " to " + Math.round(box.right) + " px");
    }
    const drawn = parseFloat(img.getAttribute("width")) || img.naturalWidth / 2;
    if (img.clientWidth > 0 && drawn > 0) {
      const px = MIN_FONT_PX * img.clientWidth / drawn;
      if (px < MIN_TEXT_PX) { out.smallText.push({where: where, px: Math.round(10 * px) / 10}); }
    }
  }
  // Controls: move each one; the figure must change, and every frame must differ from every other.
  out.controls = [];
  const dark = document.documentElement.dataset.theme === "dark";
  for (const root of article.querySelectorAll(".ptdl-control")) {
    const found = {id: root.id, problems: []};
    out.controls.push(found);
    const img = root.querySelector("img");
    let spec = null;
    try { spec = JSON.parse(root.querySelector("script.ptdl-control-data").textContent); } catch (e) {}
    if (!img || !spec) { found.problems.push("no figure or no frames"); continue; }
    if (new Set(spec.frames).size < spec.frames.length) {
      found.problems.push((spec.frames.length - new Set(spec.frames).size) + " frames repeat another");
    }
    for (const field of root.querySelectorAll("[data-param]")) {
      const k = +field.dataset.param, old = field.value, last = spec.readouts[k].length - 1;
      if (last < 1) { found.problems.push("control " + spec.names[k] + " has one value"); continue; }
      const before = img.src, readout = root.querySelector('output[data-for="' + k + '"]');
      const shown = readout ? readout.textContent : null;
      field.value = String(+old === last ? 0 : last);
      field.dispatchEvent(new Event(field.tagName === "SELECT" ? "change" : "input", {bubbles: true}));
      await new Promise(r => setTimeout(r, 30));
      if (img.src === before) { found.problems.push("moving " + spec.names[k] + " does not change the figure"); }
      if (readout && readout.textContent === shown) { found.problems.push("moving " + spec.names[k] + " does not change its readout"); }
      if (!img.complete || img.naturalWidth === 0) { await new Promise(r => setTimeout(r, 200)); }
      if (img.naturalWidth === 0) { found.problems.push("the frame for " + spec.names[k] + " does not load"); }
      field.value = old;
      field.dispatchEvent(new Event(field.tagName === "SELECT" ? "change" : "input", {bubbles: true}));
      if (img.src !== before) { found.problems.push("moving " + spec.names[k] + " back does not restore the figure"); }
    }
    if (dark) {  // no pale box behind the controls in the dark theme
      const boxes = [root, root.querySelector(".ptdl-control-inputs"), ...root.querySelectorAll("label, output")];
      for (let up = root.parentElement; up && !up.matches(".cell_output, article, main"); up = up.parentElement) {
        boxes.push(up);  // and every box around it, up to the cell's output
      }
      for (const el of boxes) {
        const bg = el ? getComputedStyle(el).backgroundColor : "";
        const m = bg.match(/rgba?\(([\d.]+), ([\d.]+), ([\d.]+)(?:, ([\d.]+))?\)/);
        if (m && (m[4] === undefined || +m[4] > 0.1) && (+m[1] + +m[2] + +m[3]) / 3 > 90) {
          found.problems.push("a light box (" + bg + ") behind the controls in the dark theme");
          break;
        }
      }
    }
  }
  return JSON.stringify(out);
}
"""


class DevTools:
    """A minimal Chrome DevTools Protocol client over one websocket."""

    def __init__(self, ws: Any) -> None:
        self.ws, self.next_id, self.pending, self.handlers = ws, 0, {}, []
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        while True:
            message = await self.ws.read_message()
            if message is None:
                return
            data = json.loads(message)
            if "id" in data and data["id"] in self.pending:
                future = self.pending.pop(data["id"])
                if "error" in data:
                    future.set_exception(RuntimeError(f"DevTools: {data['error']}"))
                else:
                    future.set_result(data.get("result", {}))
            else:
                for handler in list(self.handlers):
                    handler(data)

    async def send(
        self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 120
    ) -> dict:
        self.next_id += 1
        future = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = future
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        await self.ws.write_message(json.dumps(message))
        return await asyncio.wait_for(future, timeout)


def find_chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    sys.exit(
        "check_pages: no Chromium found. Install it (Debian/Ubuntu: `sudo apt-get install chromium`; "
        "macOS: install Google Chrome) or set CHROMIUM=/path/to/chrome."
    )


def local_asset(url: str) -> Path | None:
    """The local file that stands in for a CDN url, if any."""
    for prefix, local in CDN.items():
        if url == prefix or (prefix.endswith("/") and url.startswith(prefix)):
            rest = url[len(prefix) :].split("?")[0] if prefix.endswith("/") else ""
            return ASSETS / local / rest
    return None


async def check_page(
    tools: DevTools, session: str, url: str, width: int, theme: str, shot: Path, refused: list[str]
) -> dict:
    loaded = asyncio.Event()
    errors: list[str] = []

    def on_event(event: dict) -> None:
        if event.get("sessionId") != session:
            return
        if event.get("method") == "Page.loadEventFired":
            loaded.set()
        elif event.get("method") == "Runtime.exceptionThrown":
            details = event["params"]["exceptionDetails"]
            errors.append(details.get("exception", {}).get("description", details.get("text", "")).split("\n")[0])
        elif event.get("method") == "Runtime.consoleAPICalled" and event["params"]["type"] == "error":
            errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in event["params"]["args"]))
        elif event.get("method") == "Fetch.requestPaused":
            asyncio.ensure_future(serve(tools, session, event["params"], refused))

    tools.handlers.append(on_event)
    try:
        await tools.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": VIEW_HEIGHT, "deviceScaleFactor": 1, "mobile": width < 600},
            session,
        )
        await tools.send(
            "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": theme}]}, session
        )
        await tools.send(
            "Page.addScriptToEvaluateOnNewDocument",
            {
                "source": (
                    f"try {{ localStorage.setItem('mode', '{theme}'); localStorage.setItem('theme', '{theme}'); }}"
                    " catch (e) {}"
                )
            },
            session,
        )
        await tools.send("Page.navigate", {"url": url}, session)
        await asyncio.wait_for(loaded.wait(), 90)
        probe = PROBE.replace("MIN_FONT_PX", repr(MIN_FONT_PX)).replace("MIN_TEXT_PX", repr(MIN_TEXT_PX))
        result = await tools.send(
            "Runtime.evaluate", {"expression": f"({probe})()", "awaitPromise": True, "returnByValue": True}, session
        )
        found = json.loads(result["result"]["value"])
        found["errors"] = errors
        await screenshot(tools, session, min(int(found["height"]), 60000), shot)
        return found
    finally:
        tools.handlers.remove(on_event)


async def screenshot(tools: DevTools, session: str, height: int, shot: Path) -> None:
    """A full-page screenshot, taken screen by screen as a reader scrolls and stitched together
    (a viewport stretched to the page's height misdraws the theme's sticky sidebar)."""
    from PIL import Image

    tiles = []
    for y in range(0, max(height, 1), VIEW_HEIGHT):
        done = await tools.send(
            "Runtime.evaluate",
            {
                "expression": f"window.scrollTo(0, {y}); new Promise(r => setTimeout(() => r(window.scrollY), 120))",
                "awaitPromise": True,
                "returnByValue": True,
            },
            session,
        )
        image = await tools.send("Page.captureScreenshot", {"format": "png"}, session)
        tiles.append((int(done["result"]["value"]), Image.open(io.BytesIO(base64.b64decode(image["data"])))))
    page = Image.new("RGB", (tiles[0][1].width, max(top + tile.height for top, tile in tiles)), "white")
    for top, tile in tiles:
        page.paste(tile, (0, top))
    page.save(shot, optimize=True)


async def serve(tools: DevTools, session: str, params: dict, refused: list[str]) -> None:
    """Answer a paused request: local files pass, CDN urls come from disk, the rest is refused."""
    url, request_id = params["request"]["url"], params["requestId"]
    if url.startswith("file:") and params.get("resourceType") == "Document":
        # The page itself, with one change: the require.js it loads from a CDN carries a
        # subresource-integrity hash of the minified CDN file, which npm does not ship.
        html = Path(unquote(urlparse(url).path)).read_text(encoding="utf-8")
        html = re.sub(r'(<script[^>]*?)\s+integrity="[^"]*"([^>]*require(?:\.min)?\.js)', r"\1\2", html)
        await tools.send(
            "Fetch.fulfillRequest",
            {
                "requestId": request_id,
                "responseCode": 200,
                "body": base64.b64encode(html.encode()).decode(),
                "responseHeaders": [{"name": "Content-Type", "value": "text/html; charset=utf-8"}],
            },
            session,
        )
        return
    if url.startswith(("file:", "data:", "blob:")):
        await tools.send("Fetch.continueRequest", {"requestId": request_id}, session)
        return
    path = local_asset(url)
    if path is not None and path.is_file():
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        body = base64.b64encode(path.read_bytes()).decode()
        await tools.send(
            "Fetch.fulfillRequest",
            {
                "requestId": request_id,
                "responseCode": 200,
                "body": body,
                "responseHeaders": [
                    {"name": "Content-Type", "value": mime},
                    {"name": "Access-Control-Allow-Origin", "value": "*"},
                ],
            },
            session,
        )
        return
    refused.append(url)
    await tools.send("Fetch.failRequest", {"requestId": request_id, "errorReason": "InternetDisconnected"}, session)


def problems(page: str, width: int, found: dict, refused: list[str]) -> list[str]:
    """Turn one probe result into human-readable failures."""
    out = [f"raw TeX: {t!r}" for t in found["rawTex"]]
    out += [f"raw markup: {t!r}" for t in found["rawMarkup"]]
    if found["mathErrors"]:
        out.append(f"{found['mathErrors']} MathJax errors")
    if width == max(WIDTHS):
        out += [
            f"code/output line of {c['chars']} chars cut off ({c['over']} px): {c['line']!r}" for c in found["wideCode"]
        ]
        out += [
            f"figure shown at {f['scale']:.0%} of its size ({f['shown']} of {f['drawn']} px)"
            for f in found["smallFigures"]
        ]
    out += [f"display math {m['width']} px wide in {m['room']} px: {m['tex']!r}" for m in found["wideMath"]]
    if found["pageWidth"] > found["viewport"] + 1:
        out.append(f"page is {found['pageWidth']} px wide on a {found['viewport']} px screen")
    out += [f"image does not load: {src}" for src in found["brokenImages"]]
    if found["widgetsExpected"]:
        out.append(
            f"{found['widgetsExpected']} ipywidgets: their controls need a kernel, which the book does not have "
            "(use utils.controls.explore)"
        )
    out += [f"figure without a numbered caption: {where}" for where in found["uncaptioned"]]
    out += [f"figure without alt text: {where}" for where in found["noAlt"]]
    out += [f"figure cut off at the screen's edge: {where}" for where in found["cutFigures"]]
    if width == min(WIDTHS):
        out += [
            f"figure text {t['px']} px at {width} px (below {MIN_TEXT_PX} px): {t['where']}" for t in found["smallText"]
        ]
    out += [f"control {c['id']}: {p}" for c in found["controls"] for p in c["problems"]]
    out += [f"refused network request: {url}" for url in sorted(set(refused))]
    out += [f"JavaScript error: {e[:160]}" for e in found["errors"]]
    return out


FIGURE = re.compile(
    r'<figure[^>]*\bid="([^"]+)"[^>]*>(?:(?!</figure>).)*?<span class="caption-number">\s*Figure (\d+(?:\.\d+)*)',
    re.S,
)
FIGURE_LINK = re.compile(
    r'<a\b[^>]*\bhref="([^"]*)"[^>]*>(?:\s*<span[^>]*>)?\s*Figure\s+(\d+(?:\.\d+)*)\s*(?:</span>)?\s*</a>'
)
IMAGE_SRC = re.compile(r'<img\b[^>]*\bsrc="(?!data:|https?:)([^"]+)"')


def static_problems(html: Path, pages: list[Path]) -> dict[str, list[str]]:
    """What the HTML files alone show: links "Figure N.M" that name another number than their
    figure's, and chapter pages heavier than MAX_PAGE_MB with their images."""
    numbers: dict[tuple[str, str], str] = {}
    texts = {}
    for page in html.rglob("*.html"):
        if {"_static", "_sources", "_images"} & set(page.relative_to(html).parts):
            continue
        text = page.read_text(encoding="utf-8")
        texts[page] = text
        for fig_id, number in FIGURE.findall(text):
            numbers[(str(page.resolve()), fig_id)] = number
    report: dict[str, list[str]] = {}
    for page in pages:
        text = texts.get(page) or page.read_text(encoding="utf-8")
        found = []
        for href, number in FIGURE_LINK.findall(text):
            target, _, fig_id = href.partition("#")
            path = (page.parent / unquote(target)).resolve() if target else page.resolve()
            real = numbers.get((str(path), fig_id))
            if real is None:
                found.append(f"link 'Figure {number}' points to {href}, which is no numbered figure")
            elif real != number:
                found.append(f"link 'Figure {number}' points to {href}, which is Figure {real}")
        name = str(page.relative_to(html))
        if name.startswith("chapters/"):
            images = {(page.parent / unquote(src)).resolve() for src in IMAGE_SRC.findall(text)}
            weight = page.stat().st_size + sum(p.stat().st_size for p in images if p.is_file())
            if weight > MAX_PAGE_MB * 2**20:
                found.append(f"page weighs {weight / 2**20:.1f} MB with its images (at most {MAX_PAGE_MB} MB)")
        report[name] = found
    return report


async def run(pages: list[Path], html: Path, out: Path, chromium: str) -> dict[str, dict[str, list[str]]]:
    from tornado.websocket import websocket_connect

    profile = tempfile.mkdtemp(prefix="pagecheck-")
    proc = subprocess.Popen(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--disable-background-networking",
            "--no-first-run",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "--allow-file-access-from-files",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        endpoint = None
        for line in proc.stderr:
            match = re.search(r"DevTools listening on (ws://\S+)", line)
            if match:
                endpoint = match.group(1)
                break
        if endpoint is None:
            sys.exit("check_pages: Chromium did not start (no DevTools endpoint)")
        ws = await websocket_connect(endpoint, max_message_size=1 << 30)
        tools = DevTools(ws)
        report: dict[str, dict[str, list[str]]] = {}
        for page in pages:
            name = str(page.relative_to(html))
            report[name] = {}
            for width in WIDTHS:
                for theme in THEMES:
                    refused: list[str] = []
                    shot = out / f"{name.replace('/', '__')[:-5]}-{width}-{theme}.png"
                    # a fresh tab for every view: nothing carries over from the last page
                    target = (await tools.send("Target.createTarget", {"url": "about:blank"}))["targetId"]
                    session = (await tools.send("Target.attachToTarget", {"targetId": target, "flatten": True}))[
                        "sessionId"
                    ]
                    for method in ("Page.enable", "Runtime.enable"):
                        await tools.send(method, {}, session)
                    await tools.send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, session)
                    key = f"{width}px {theme}"
                    try:
                        found = await check_page(tools, session, page.resolve().as_uri(), width, theme, shot, refused)
                        report[name][key] = problems(name, width, found, refused)
                    except (TimeoutError, RuntimeError) as err:
                        report[name][key] = [f"page could not be checked: {err!r}"]
                    await tools.send("Target.closeTarget", {"targetId": target})
            bad = sum(len(v) for v in report[name].values())
            print(f"{'FAIL' if bad else 'ok  '} {name}" + (f" ({bad} problems)" if bad else ""), flush=True)
        ws.close()
        return report
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Screenshot and check every page of the built book.")
    parser.add_argument("pages", nargs="*", help="pages to check, relative to --html (default: all)")
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "pagecheck")
    args = parser.parse_args(argv)
    if not (args.html / "index.html").exists():
        sys.exit(f"check_pages: no built book in {args.html}; run `make book` first")
    if not (ASSETS / "mathjax").is_dir():
        sys.exit("check_pages: the local MathJax and widget manager are missing; `make check-pages` installs them")
    chromium = find_chromium()
    if args.pages:
        pages = [args.html / p for p in args.pages]
    else:
        pages = sorted(
            p
            for p in args.html.rglob("*.html")
            if p.name not in SKIP_PAGES
            and not {"_static", "_sources", "_images"} & set(p.parts)
            and 'http-equiv="Refresh"' not in p.read_text(encoding="utf-8")[:2000]
        )  # redirects
    args.out.mkdir(parents=True, exist_ok=True)
    static = static_problems(args.html, pages)
    report = asyncio.run(run(pages, args.html, args.out, chromium))
    for page, found in static.items():
        if found:
            report.setdefault(page, {})["built HTML"] = found
    (args.out / "report.json").write_text(json.dumps(report, indent=1))
    failures = 0
    for page, views in report.items():
        seen: set[str] = set()
        for view, found in views.items():
            for problem in found:
                if problem not in seen:  # the same problem in several views is listed once
                    seen.add(problem)
                    failures += 1
                    print(f"{page} [{view}]: {problem}")
    print(f"\n{len(report)} pages, {len(WIDTHS) * len(THEMES)} views each; screenshots in {args.out}")
    print(f"{failures} problems" if failures else "no problems found")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
