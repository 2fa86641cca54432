// Click (or press Enter on) a figure to see it enlarged; click, Escape or Enter closes it.
// The course renders figures at twice their displayed resolution, so the enlarged view is sharp;
// on a phone it shows the figure at full size, and the reader pans across it. On a phone every
// figure also spans the whole screen width.
(function () {
  "use strict";
  var SELECTOR = ".cell_output img, figure img, .figure img";

  function open(img) {
    var overlay = document.createElement("div");
    overlay.className = "ptdl-zoom-overlay";
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-label", "Enlarged figure (click or press Escape to close)");
    overlay.tabIndex = -1;
    var big = document.createElement("img");
    big.src = img.currentSrc || img.src;
    big.alt = img.alt || "";
    if (window.innerWidth < 700 && img.naturalWidth) {
      // a phone: the figure at its full size (half its pixels), to pan across with a finger
      overlay.classList.add("ptdl-zoom-pan");
      big.style.width = Math.round(img.naturalWidth / 2) + "px";
    }
    overlay.appendChild(big);
    function close() {
      document.removeEventListener("keydown", onKey);
      overlay.remove();
      img.focus();
    }
    function onKey(event) {
      if (event.key === "Escape" || event.key === "Enter") { event.preventDefault(); close(); }
    }
    overlay.addEventListener("click", close);
    document.addEventListener("keydown", onKey);
    document.body.appendChild(overlay);
    overlay.focus();
  }

  function init() {
    document.querySelectorAll(SELECTOR).forEach(function (img) {
      if (img.closest("a")) { return; }  // a linked image keeps its link
      img.classList.add("ptdl-zoomable");
      img.tabIndex = 0;
      img.setAttribute("role", "button");
      img.setAttribute("title", "Click to enlarge");
      img.addEventListener("click", function () { open(img); });
      img.addEventListener("keydown", function (event) {
        if (event.key === "Enter") { event.preventDefault(); open(img); }
      });
    });
  }

  // On a phone a figure spans the whole screen, past the text column's margins (see ptdl.css).
  var PHONE = 576;
  function bleed() {
    var screen = document.documentElement.clientWidth;
    document.querySelectorAll(".cell_output img").forEach(function (img) {
      img.classList.remove("ptdl-bleed");
      img.style.width = img.style.marginLeft = "";
      if (screen > PHONE) { return; }
      var left = img.parentElement.getBoundingClientRect().left;
      img.classList.add("ptdl-bleed");
      img.style.width = screen + "px";
      img.style.marginLeft = -left + "px";
    });
  }

  function start() {
    init();
    bleed();
    window.addEventListener("resize", bleed);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
