/* Inline formulas wider than their line scroll in their own box.
 *
 * The theme clips every inline formula (span.math: overflow hidden, max-width 100%), which cut
 * off the end of formulas wider than the line. Letting every formula scroll instead puts a
 * scroll bar under most of them: MathJax's glyphs overhang their boxes by a few pixels. CSS
 * cannot tell the two apart, so this marks the formulas that really are wider than their line
 * (book.css: span.math.book-wide scrolls, with a visible bar) and leaves the others visible.
 * Re-run when the window is resized. Without JavaScript a wide formula sticks out, uncut.
 */
(function () {
  "use strict";
  function mark() {
    var spans = document.querySelectorAll(".bd-article span.math");
    for (var i = 0; i < spans.length; i++) {
      var s = spans[i];
      var m = s.querySelector("mjx-math");
      if (!m) continue;
      s.classList.remove("book-wide");
      // span.math is at most as wide as its line (max-width: 100%); a formula wider than the
      // span is wider than the line
      if (m.getBoundingClientRect().width > s.clientWidth + 1) s.classList.add("book-wide");
    }
  }
  function whenTypeset() {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(mark);
    } else {
      setTimeout(whenTypeset, 100);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", whenTypeset);
  } else {
    whenTypeset();
  }
  window.addEventListener("resize", mark);
})();
