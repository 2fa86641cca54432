// The Jupyter widget manager that the book loads (html-manager 1.x) typesets widget labels
// with MathJax 2's API, MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); the book runs
// MathJax 3, which has no Hub, so every widget label raised a TypeError in the console.
// This maps the MathJax 2 call onto MathJax 3's typesetPromise, before and after MathJax loads.
(function () {
  "use strict";
  function queue() {
    for (var i = 0; i < arguments.length; i++) {
      var job = arguments[i];
      var mathjax = window.MathJax;
      if (Array.isArray(job) && job[0] === "Typeset" && job[2] && mathjax && mathjax.typesetPromise) {
        mathjax.typesetPromise([job[2]]).catch(function () {});
      }
    }
  }
  function install() {
    if (window.MathJax && !window.MathJax.Hub) { window.MathJax.Hub = {Queue: queue}; }
  }
  install();
  var config = window.MathJax;
  if (config && !config.typesetPromise && !(config.startup && config.startup.document)) {
    // MathJax 3 has not started: it will replace the global object, so install again after.
    config.startup = config.startup || {};
    var ready = config.startup.ready;
    config.startup.ready = function () {
      if (ready) { ready(); } else { window.MathJax.startup.defaultReady(); }
      install();
    };
  }
})();
