// Teacher Wallet pages: the few things plain HTML cannot do. Served from /static (no inline script).
(function () {
  "use strict";

  // Tell the LMS how tall the page is so the iframe shows it without a second scrollbar.
  var lastHeight = 0;
  function reportHeight() {
    if (window.parent === window) return;
    // The body's own height: the document's is never less than the iframe, so it could not shrink.
    var height = Math.ceil(document.body.getBoundingClientRect().height);
    if (height === lastHeight) return;
    lastHeight = height;
    window.parent.postMessage({ subject: "lti.frameResize", height: height }, "*");
  }

  function copyLink(event) {
    var input = document.getElementById(event.currentTarget.getAttribute("data-copy"));
    if (!input) return;
    input.select();
    var button = event.currentTarget;
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-copy]"), function (button) {
      button.addEventListener("click", copyLink);
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
    reportHeight();
    if (window.ResizeObserver) {
      new ResizeObserver(reportHeight).observe(document.body);
    } else {
      window.addEventListener("resize", reportHeight);
    }
  });
})();
