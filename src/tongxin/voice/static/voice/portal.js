// The household link's page: its print button (no inline script under the Content Security Policy).
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});
