// Only enhances: every page works without it.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf"]');
  var csrf = meta ? meta.getAttribute("content") : "";

  // Search as you type: the same post the form sends, with the rows alone sent back.
  var q = document.querySelector("input[data-live]");
  if (q) {
    var form = q.form, target = document.getElementById(q.getAttribute("data-live")), timer = null, seq = 0;
    var run = function () {
      var params = new URLSearchParams(new FormData(form));
      params.set("partial", "1");
      var mine = ++seq;
      fetch("/cases", { method: "POST", body: params, credentials: "same-origin" }).then(function (r) {
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

// Panic from anywhere: Esc three times within two seconds opens the panic page with its button
// focused; pressing it is the second, deliberate step.
(function () {
  "use strict";
  var presses = [];
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") { return; }
    var now = Date.now();
    presses = presses.filter(function (t) { return now - t < 2000; });
    presses.push(now);
    if (presses.length >= 3) { window.location.assign("/panic?keys=1"); }
  });
  if (window.location.pathname === "/panic" && window.location.search.indexOf("keys=1") >= 0) {
    var b = document.getElementById("destroy");
    if (b) { b.focus(); }
  }
  // Names that may already be recorded, shown while they are typed.
  var csrfless = document.querySelectorAll("input[data-duplicates]");
  Array.prototype.forEach.call(csrfless, function (input) {
    var out = document.getElementById(input.getAttribute("data-duplicates")), timer = null, seq = 0;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var mine = ++seq;
        fetch("/duplicates?name=" + encodeURIComponent(input.value), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : ""; })
          .then(function (html) { if (mine === seq) { out.innerHTML = html; } });
      }, 250);
    });
  });
})();

// A stick sync in progress: the bars are fetched again each half second in place of the page's
// own refresh (which is for browsers without scripts); the page reloads once for the result.
(function () {
  "use strict";
  var bars = document.querySelector("[data-usb-poll]");
  if (!bars) { return; }
  var url = bars.getAttribute("data-usb-poll");
  var poll = function () {
    fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (r.redirected || (r.status !== 200 && r.status !== 202)) { window.location.reload(); return null; }
      return r.text().then(function (html) { return { done: r.status === 200, html: html }; });
    }).then(function (x) {
      if (x === null) { return; }
      if (x.html) { bars.innerHTML = x.html; }
      if (x.done) { window.location.assign(bars.getAttribute("data-poll-done") || "/usb"); } else { setTimeout(poll, 500); }
    });
  };
  setTimeout(poll, 500);
})();
