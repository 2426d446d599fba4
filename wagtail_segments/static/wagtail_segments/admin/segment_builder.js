/* wagtail-segments: the segment rule builder's live preview and form-field chooser.
 *
 * The preview posts the edit form as it stands (nothing is saved) once the rules have not
 * changed for PAUSE_MS; choosers that set hidden inputs fire no events, so a change is also
 * noticed by comparing the form's data once a second. Only the newest answer is shown.
 * The form-field chooser offers only the fields of the form page chosen beside it.
 */
(function () {
  "use strict";
  var PAUSE_MS = 500;
  var CHECK_MS = 1000;

  function fingerprint(data) {
    var parts = [];
    data.forEach(function (value, key) {
      if (key !== "csrfmiddlewaretoken" && typeof value === "string") parts.push(key + "=" + value);
    });
    return parts.join("&");
  }

  function limitFormFields(form) {
    form.querySelectorAll("select").forEach(function (select) {
      if (!select.querySelector("option[data-form-page]")) return;
      var pageInput = form.elements[select.name.replace(/answer_field$/, "page")];
      var pageId = pageInput ? pageInput.value : "";
      var current = select.selectedOptions[0];
      var replacement = null;
      select.querySelectorAll("option[data-form-page]").forEach(function (option) {
        var offered = option.dataset.formPage === pageId;
        option.hidden = !offered;
        option.disabled = !offered;
        if (offered && current && option.value === current.value) replacement = option;
      });
      select.querySelectorAll("optgroup").forEach(function (group) {
        group.hidden = !group.querySelector("option:not([hidden])");
      });
      if (current && current.hidden) {
        if (replacement) replacement.selected = true;
        else select.value = "";
      }
    });
  }

  // The count, repeated in a corner while the preview panel is out of sight, so it stays
  // visible as long rules are edited. The panel itself is the live region; this copy is a
  // plain link to it, not announced.
  function showSummary(panel, result) {
    var count = result.querySelector(".wsg-rules-preview__count, [data-wsg-preview-problems]");
    var link = document.querySelector(".wsg-preview-summary");
    if (!count) return;
    if (!link) {
      link = document.createElement("a");
      link.className = "wsg-preview-summary";
      link.href = "#wsg-rules-preview";
      document.body.appendChild(link);
      if ("IntersectionObserver" in window) {
        new IntersectionObserver(function (entries) {
          link.hidden = entries[0].isIntersecting;
        }).observe(panel);
      }
    }
    link.textContent = count.textContent.replace(/\s+/g, " ").trim();
  }

  function start(panel) {
    var form = panel.closest("form");
    var result = panel.querySelector("[data-wsg-preview-result]");
    if (!form || !result) return;
    var url = panel.dataset.url;
    var sent = null;
    var timer = null;
    var latest = 0;

    function send() {
      timer = null;
      limitFormFields(form);
      var data = new FormData(form);
      var print = fingerprint(data);
      if (print === sent) return;
      sent = print;
      data.append("segment_id", panel.dataset.segmentId || "");
      var request = ++latest;
      result.setAttribute("aria-busy", "true");
      fetch(url, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-Requested-With": "XMLHttpRequest" },
      })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.text();
        })
        .then(function (html) {
          if (request !== latest) return;
          result.innerHTML = html;
          result.removeAttribute("aria-busy");
          showSummary(panel, result);
        })
        .catch(function () {
          if (request !== latest) return;
          result.removeAttribute("aria-busy");
        });
    }

    function schedule() {
      if (timer) clearTimeout(timer);
      timer = setTimeout(send, PAUSE_MS);
    }

    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    setInterval(function () {
      limitFormFields(form);
      if (!timer && fingerprint(new FormData(form)) !== sent) schedule();
    }, CHECK_MS);
    send();
  }

  function init() {
    document.querySelectorAll("[data-wsg-rules-preview]").forEach(start);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
