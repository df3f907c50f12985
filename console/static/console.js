// wildwarden review console: keyboard shortcuts, lease countdowns and the
// image reveal. The pages work without it; it only adds comfort.
(function () {
  "use strict";

  var help = document.getElementById("help");
  function toggleHelp(show) {
    if (!help) return;
    var open = typeof show === "boolean" ? show : help.hidden;
    help.hidden = !open;
    if (open) document.getElementById("help-close").focus();
  }
  var helpOpen = document.getElementById("help-open");
  if (helpOpen) helpOpen.addEventListener("click", function () { toggleHelp(true); });
  var helpClose = document.getElementById("help-close");
  if (helpClose) helpClose.addEventListener("click", function () { toggleHelp(false); });

  // Images stay blurred and grey until the reviewer asks to see them.
  function reveal(btn, on) {
    var shown = typeof on === "boolean" ? on : !btn.classList.contains("revealed");
    btn.classList.toggle("revealed", shown);
    btn.setAttribute("aria-pressed", shown ? "true" : "false");
  }
  document.querySelectorAll("button.reveal").forEach(function (btn) {
    btn.addEventListener("click", function () { reveal(btn); });
  });

  // Lease countdowns.
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-until]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.until) - now) / 1000);
      if (left <= 0) {
        el.textContent = "lease expired";
        el.classList.add("expired");
        return;
      }
      var m = Math.floor(left / 60), s = left % 60;
      el.textContent = m + ":" + (s < 10 ? "0" : "") + s + " left";
    });
  }
  tick();
  setInterval(tick, 1000);

  // Queue rows: j/k move the selection, Enter opens it.
  var rows = Array.prototype.slice.call(document.querySelectorAll("#queue tbody tr"));
  var selected = -1;
  function select(i) {
    if (!rows.length) return;
    selected = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach(function (r, j) { r.classList.toggle("selected", j === selected); });
    var link = rows[selected].querySelector("a");
    if (link) link.focus();
  }

  function click(id) {
    var el = document.getElementById(id);
    if (el) el.click();
    return !!el;
  }
  function follow(id) {
    var el = document.getElementById(id);
    if (el) window.location.href = el.href;
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var tag = (ev.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || ev.target.isContentEditable) {
      if (ev.key === "Escape") ev.target.blur();
      return;
    }
    if (ev.key === "Escape") { toggleHelp(false); return; }
    if (help && !help.hidden && ev.key !== "?") return;
    switch (ev.key) {
      case "?": toggleHelp(); break;
      case "j": if (rows.length) select(selected + 1); else follow("next"); break;
      case "k": if (rows.length) select(selected - 1); else follow("prev"); break;
      case "c": click("claim"); break;
      case "r": click("do-remove"); break;
      case "a": click("do-allow"); break;
      case "e": click("do-escalate"); break;
      case "i":
        var btns = document.querySelectorAll("button.reveal");
        var anyHidden = Array.prototype.some.call(btns, function (b) { return !b.classList.contains("revealed"); });
        btns.forEach(function (b) { reveal(b, anyHidden); });
        break;
      default: return;
    }
    ev.preventDefault();
  });
})();
