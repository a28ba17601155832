// Updates the validation checks while a run is in progress by polling
// /validation/status, and reloads the page when the run is complete so the
// server renders the summary.
(function () {
  "use strict";
  function update(s) {
    s.checks.forEach(function (c) {
      var li = document.getElementById("check-" + c.id);
      if (!li) return;
      li.dataset.status = c.status;
      li.querySelector(".check-status").textContent = c.status === "failed" ? c.failures + " failed" : c.status;
    });
    var bar = document.getElementById("validation-progress");
    if (bar) bar.value = s.done;
    var st = document.getElementById("validation-state");
    if (st) st.textContent = "Running… " + s.done + " of " + s.total + " checks done";
  }
  function poll() {
    fetch("/validation/status", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.state !== "running") { window.location.reload(); return; }
        update(s);
        setTimeout(poll, 250);
      })
      .catch(function () { setTimeout(poll, 1000); });
  }
  poll();
})();
