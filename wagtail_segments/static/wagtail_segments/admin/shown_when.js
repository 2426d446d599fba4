// Forms that show only what the chosen option uses (the campaign step forms, the form mappings
// screen): an element with data-wsg-shown-when="<control name>:<value> <value>…" is hidden while
// that control has another value. An empty value is an empty item ("control: a b" lists "", a, b).
// A form field is hidden with its wrapper. Without script everything shows, and the server checks.
(function () {
  "use strict";
  function value(form, name) {
    const checked = form.querySelector(`[name="${name}"]:checked`);
    if (checked) return checked.value;
    const control = form.querySelector(`select[name="${name}"], input[name="${name}"]:not([type="radio"])`);
    return control ? control.value : "";
  }
  function update(form) {
    form.querySelectorAll("[data-wsg-shown-when]").forEach((element) => {
      const spec = element.dataset.wsgShownWhen;
      const split = spec.indexOf(":");
      const name = spec.slice(0, split);
      const values = spec.slice(split + 1).split(" ");
      const wrapper = element.closest(".w-field__wrapper") || element;
      wrapper.hidden = !values.includes(value(form, name));
    });
  }
  function start() {
    document.querySelectorAll("form").forEach((form) => {
      if (!form.querySelector("[data-wsg-shown-when]")) return;
      form.addEventListener("change", () => update(form));
      update(form);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
