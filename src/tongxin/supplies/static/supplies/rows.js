// Rows changed in place with HTMX (the parcel round, the requests queue). A refused change (someone
// else got there first, a parcel still holding, a short stock) answers 400 or 403 with the row and
// its reason, but htmx 2 does not swap error answers: the tapped row stayed as it was, silent, its
// buttons still there. Swap such a row in. A whole page (an error page, the login page) is not a
// row and is left alone.
document.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  if ((status === 400 || status === 403) && !/<html[\s>]/i.test(event.detail.serverResponse)) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
