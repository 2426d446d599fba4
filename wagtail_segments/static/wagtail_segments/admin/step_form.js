// The step forms show only the fields that the chosen option uses: a field whose widget has
// data-wsg-shown-when="<control name>:<value> <value>…" is hidden while that control has another value.
(function () {
  "use strict";
  function value(form, name) {
    const checked = form.querySelector(`[name="${name}"]:checked`);
    if (checked) return checked.value;
    const control = form.querySelector(`select[name="${name}"], input[name="${name}"]:not([type="radio"])`);
    return control ? control.value : "";
  }
  function update(form) {
    form.querySelectorAll("[data-wsg-shown-when]").forEach((widget) => {
      const [name, values] = widget.dataset.wsgShownWhen.split(":");
      const wrapper = widget.closest(".w-field__wrapper") || widget;
      wrapper.hidden = !values.split(" ").includes(value(form, name));
    });
  }
  function start() {
    document.querySelectorAll("form[data-wsg-step-form]").forEach((form) => {
      form.addEventListener("change", () => update(form));
      update(form);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
