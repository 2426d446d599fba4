/* wagtail-segments beacon: time on page, custom events, and page views on cached sites. */
(function (w, d, n) {
  var s = d.currentScript; if (!s) return;
  var ep = s.getAttribute("data-endpoint"), pg = s.getAttribute("data-page") || "";
  var shown = Date.now(), spent = 0, done = 0;
  function send(kind, extra) {
    var p = { kind: kind, path: location.pathname + location.search, referrer: d.referrer, page: pg }, k;
    for (k in extra) p[k] = extra[k];
    var b = JSON.stringify(p);
    if (n.sendBeacon && n.sendBeacon(ep, b)) return;
    try { fetch(ep, { method: "POST", body: b, keepalive: true, credentials: "same-origin" }); } catch (e) {}
  }
  function pause() { if (shown) { spent += Date.now() - shown; shown = 0; } }
  d.addEventListener("visibilitychange", function () {
    if (d.visibilityState === "hidden") pause(); else shown = Date.now();
  });
  w.addEventListener("pagehide", function () {
    pause();
    if (!done && spent > 0) { done = 1; send("time_on_page", { seconds: Math.round(spent / 100) / 10 }); }
  });
  w.wagtailSegments = { track: function (name, data) { send("custom", { name: String(name), data: data || {} }); } };
  if (s.getAttribute("data-pageview") === "1") send("page_view", {});
})(window, document, navigator);
