// What-if footprints (mics.web.whatif): on each change, fetch the recomputed figures and
// swap them in place; keep the variant in the URL (?variant=...) so it can be shared.
(function () {
  "use strict";
  var form = document.getElementById("whatif-form");
  if (!form) return;
  var result = document.getElementById("whatif-result");
  var status = document.getElementById("whatif-status");
  var asked = 0;
  function query() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) { params.append(key, value); });
    return params.toString();
  }
  function recompute() {
    var mine = ++asked;
    var started = performance.now();
    status.textContent = "…";
    fetch(form.dataset.fragment + "?" + query(), { headers: { Accept: "text/html" } })
      .then(function (response) {
        return response.text().then(function (text) { return { ok: response.ok, text: text }; });
      })
      .then(function (answer) {
        if (mine !== asked) return;
        if (!answer.ok) {
          var page = new DOMParser().parseFromString(answer.text, "text/html");
          var detail = page.querySelector(".detail, main p");
          status.textContent = detail ? detail.textContent : "error";
          return;
        }
        result.innerHTML = answer.text;
        var figures = document.getElementById("whatif-figures");
        var variant = figures ? figures.dataset.variant : "";
        var url = new URL(window.location.href);
        ["variant", "lifetime", "use"].forEach(function (k) { url.searchParams.delete(k); });
        Array.from(url.searchParams.keys()).forEach(function (k) {
          if (k.indexOf(":") > 0) url.searchParams.delete(k);
        });
        if (variant) url.searchParams.set("variant", variant);
        history.replaceState(null, "", url.pathname + url.search + "#whatif");
        status.textContent = Math.round(performance.now() - started) + " ms";
      })
      .catch(function (error) { status.textContent = String(error); });
  }
  form.addEventListener("change", recompute);
  form.addEventListener("submit", function (event) { event.preventDefault(); recompute(); });
})();
