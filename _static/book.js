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
    var spans = document.querySelectorAll(".bd-article span.math.book-wide");
    for (var i = 0; i < spans.length; i++) spans[i].classList.remove("book-wide");
    // read every width first, then write: one layout for the page, not one per formula
    spans = document.querySelectorAll(".bd-article span.math");
    var wide = [];
    for (var j = 0; j < spans.length; j++) {
      var m = spans[j].querySelector("mjx-math");
      // span.math is at most as wide as its line (max-width: 100%); a formula wider than the
      // span is wider than the line
      if (m && m.getBoundingClientRect().width > spans[j].clientWidth + 1) wide.push(spans[j]);
    }
    for (var k = 0; k < wide.length; k++) wide[k].classList.add("book-wide");
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
