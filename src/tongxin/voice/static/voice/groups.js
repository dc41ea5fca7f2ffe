// The common questions page: the merge button counts the groups picked (two at least), and an
// answer, which publishes a notice to the whole compound, is confirmed first.
(() => {
  const mergeButton = document.querySelector("[data-merge-button]");
  const picks = () => document.querySelectorAll("[data-merge-pick]:checked").length;
  const refresh = () => {
    if (mergeButton) mergeButton.disabled = picks() < 2;
  };
  document.addEventListener("change", (event) => {
    if (event.target.matches("[data-merge-pick]")) refresh();
  });
  document.addEventListener("submit", (event) => {
    const question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });
  refresh();
})();
