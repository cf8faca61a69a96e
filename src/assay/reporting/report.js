// Filters, expansion and copy buttons of the assay HTML report.
// It reads data- attributes and writes only textContent and attributes: never innerHTML,
// so nothing from the API can become markup here.
(function () {
  "use strict";
  var findings = Array.prototype.slice.call(document.querySelectorAll("tbody.finding"));
  var groups = Array.prototype.slice.call(document.querySelectorAll("tbody.group"));
  var chips = Array.prototype.slice.call(document.querySelectorAll("[data-filter-severity]"));
  var check = document.getElementById("filter-check");
  var search = document.getElementById("filter-search");
  var counter = document.getElementById("filter-count");
  var noMatch = document.getElementById("no-match");
  var expandAll = document.getElementById("expand-all");
  var texts = new Map();
  findings.forEach(function (f) { texts.set(f, f.textContent.toLowerCase()); });

  function selectedSeverities() {
    return chips.filter(function (c) { return c.getAttribute("aria-pressed") === "true"; })
      .map(function (c) { return c.dataset.filterSeverity; });
  }

  function apply() {
    var levels = selectedSeverities();
    var wanted = check ? check.value : "";
    var query = search ? search.value.trim().toLowerCase() : "";
    var shown = 0;
    findings.forEach(function (f) {
      var visible = (levels.length === 0 || levels.indexOf(f.dataset.severity) !== -1) &&
        (!wanted || f.dataset.check === wanted) &&
        (!query || texts.get(f).indexOf(query) !== -1);
      f.hidden = !visible;
      if (visible) { shown += 1; }
    });
    groups.forEach(function (g) {
      g.hidden = !findings.some(function (f) {
        return !f.hidden && f.dataset.group === g.dataset.group;
      });
    });
    if (counter) { counter.textContent = shown + " of " + findings.length + " shown"; }
    if (noMatch) { noMatch.hidden = shown !== 0; }
  }

  function setOpen(finding, open) {
    var detail = finding.querySelector("tr.detail");
    var button = finding.querySelector("button.toggle");
    detail.hidden = !open;
    finding.classList.toggle("open", open);
    button.setAttribute("aria-expanded", String(open));
    button.setAttribute("aria-label", open ? "Hide details" : "Show details");
  }

  chips.forEach(function (chip) {
    chip.addEventListener("click", function () {
      var pressed = chip.getAttribute("aria-pressed") === "true";
      chip.setAttribute("aria-pressed", String(!pressed));
      apply();
    });
  });
  if (check) { check.addEventListener("change", apply); }
  if (search) { search.addEventListener("input", apply); }

  findings.forEach(function (f) {
    f.querySelector("tr.row").addEventListener("click", function () {
      setOpen(f, f.querySelector("tr.detail").hidden);
    });
  });
  if (expandAll) {
    expandAll.addEventListener("click", function () {
      var open = expandAll.dataset.open !== "true";
      findings.forEach(function (f) { setOpen(f, open); });
      expandAll.dataset.open = String(open);
      expandAll.textContent = open ? "Collapse all" : "Expand all";
    });
  }

  function copied(button, label) {
    button.textContent = label;
    setTimeout(function () { button.textContent = "Copy"; }, 1500);
  }

  function fallbackCopy(text, button) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    copied(button, ok ? "Copied" : "Select and copy");
  }

  document.querySelectorAll("button.copy").forEach(function (button) {
    button.addEventListener("click", function (event) {
      event.stopPropagation();
      var source = document.getElementById(button.dataset.copy);
      var text = source ? source.textContent : "";
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () { copied(button, "Copied"); },
          function () { fallbackCopy(text, button); });
      } else {
        fallbackCopy(text, button);
      }
    });
  });

  apply();
}());
