// Only enhances: every page works without it.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf"]');
  var csrf = meta ? meta.getAttribute("content") : "";

  // Search as you type: the same GET the form sends, with the rows alone sent back.
  var q = document.querySelector("input[data-live]");
  if (q) {
    var form = q.form, target = document.getElementById(q.getAttribute("data-live")), timer = null, seq = 0;
    var run = function () {
      var params = new URLSearchParams(new FormData(form));
      params.set("partial", "1");
      var mine = ++seq;
      fetch("/cases?" + params.toString(), { credentials: "same-origin" }).then(function (r) {
        if (r.redirected || !r.ok) { window.location.reload(); return null; }
        return r.text();
      }).then(function (html) {
        if (html !== null && mine === seq) { target.innerHTML = html; }
      });
    };
    q.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 120); });
  }

  // A heartbeat while a page is open, so closing the browser locks the node.
  if (csrf && document.querySelector("form.lock")) {
    var beat = function () {
      var body = new URLSearchParams({ csrf: csrf });
      fetch("/alive", { method: "POST", body: body, credentials: "same-origin" }).then(function (r) {
        if (r.status === 401) { window.location.assign("/unlock"); }
      });
    };
    beat();
    setInterval(beat, 30000);
  }
})();
