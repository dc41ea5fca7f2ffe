// The new-notice page: picking a template reloads the page with that template's fields (the
// "选择模板" button does the same without JavaScript), and only the audience's own part (its
// buildings, units or room list) is shown.
(() => {
  const picker = document.getElementById("template-form");
  if (picker) {
    const select = picker.querySelector("select[name=template]");
    if (select) select.addEventListener("change", () => picker.submit());
    picker.querySelectorAll(".js-hidden").forEach((el) => { el.hidden = true; });
  }
  const form = document.querySelector(".notice-form");
  if (!form) return;
  const parts = form.querySelectorAll(".audience-part");
  const show = () => {
    const chosen = form.querySelector("input[name=audience]:checked");
    const value = chosen ? chosen.value : "";
    parts.forEach((part) => { part.hidden = part.dataset.audience !== value; });
  };
  form.querySelectorAll("input[name=audience]").forEach((radio) => radio.addEventListener("change", show));
  show();
})();
