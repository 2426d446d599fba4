// tag-it (Wagtail's tag widget) hides the labelled input and types into one of its own with
// no label: give that one the field's label and help, for screen readers and axe.
(function () {
  "use strict";

  function label(list) {
    const original = list.previousElementSibling;
    const typed = list.querySelector(".tagit-new input");
    if (!original || !typed || !original.id || typed.hasAttribute("aria-labelledby")) return;
    const text = document.querySelector(`label[for="${CSS.escape(original.id)}"]`);
    if (text) {
      if (!text.id) text.id = `${original.id}-label`;
      typed.setAttribute("aria-labelledby", text.id);
    } else if (original.getAttribute("aria-label")) {
      typed.setAttribute("aria-label", original.getAttribute("aria-label"));
    }
    const help = original.getAttribute("aria-describedby");
    if (help) typed.setAttribute("aria-describedby", help);
  }

  function labelAll(root) {
    root.querySelectorAll("ul.tagit").forEach(label);
  }

  // Tag widgets appear after load too: built by their Stimulus controller, or in a rule
  // block added to the segment builder.
  new MutationObserver((mutations) => {
    mutations.forEach((mutation) => mutation.addedNodes.forEach((node) => {
      if (node.nodeType !== Node.ELEMENT_NODE) return;
      if (node.matches("ul.tagit")) label(node);
      else labelAll(node);
    }));
  }).observe(document.documentElement, {childList: true, subtree: true});
  document.addEventListener("DOMContentLoaded", () => labelAll(document));
})();
