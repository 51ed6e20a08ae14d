// Small improvements to pages that work without it: nothing here is needed
// to read a page or send a form.
document.addEventListener("DOMContentLoaded", function () {
  // Move the focus to the error summary so a screen reader announces it.
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.focus();
  }
});
