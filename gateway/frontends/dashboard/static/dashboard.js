// hookgate dashboard: the little behaviour plain HTML lacks. Loaded from the gateway itself; the
// Content-Security-Policy allows no inline script.
"use strict";

// A submit button with data-confirm asks first (discard, retry all matching).
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const question = button && button.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// "Select all" ticks every row checkbox of its table.
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!box.classList || !box.classList.contains("select-all")) {
    return;
  }
  const table = box.closest("table");
  for (const row of table.querySelectorAll('tbody input[type="checkbox"]')) {
    row.checked = box.checked;
  }
});
