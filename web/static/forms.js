/* After a form came back with errors, show them: the first error summary on the page is
   scrolled into view and takes the focus, so a screen reader reads it and a sighted user
   sees it even when the form sits far down the page. A page that answers a form with a
   result (an import's report) marks its heading with data-result, which is shown the same
   way. The pages work without this; it only moves the view. */
document.addEventListener("DOMContentLoaded", function () {
  var shown = document.querySelector(".error-summary") ||
      document.querySelector("[data-result]");
  if (shown) {
    shown.scrollIntoView({block: "center"});
    shown.focus({preventScroll: true});
  }
});
