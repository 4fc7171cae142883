/* After a form came back with errors, show them: the first error summary on the page is
   scrolled into view and takes the focus, so a screen reader reads it and a sighted user
   sees it even when the form sits far down the page. The pages work without this; it only
   moves the view. */
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.scrollIntoView({block: "center"});
    summary.focus({preventScroll: true});
  }
});
