// Enhancements only: every page works without this file.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Choosing a facet value searches at once; without script, the form's
  // "Apply" button does the same.
  const form = document.querySelector("form[data-autosubmit]");
  if (form) {
    form.addEventListener("change", (event) => {
      if (event.target.matches("input[type=checkbox], select")) {
        form.requestSubmit();
      }
    });
    form.classList.add("js-autosubmit");
  }
  // Print buttons need script; they are hidden without it.
  for (const button of document.querySelectorAll("[data-print]")) {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }
});
