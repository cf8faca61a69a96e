// Times are written in UTC by the server; show them in the reader's time zone, and keep
// the UTC text as a tooltip.
(function () {
  "use strict";
  var format = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit"
  });
  document.querySelectorAll("time[datetime]").forEach(function (element) {
    var moment = new Date(element.getAttribute("datetime"));
    if (isNaN(moment.getTime())) {
      return;
    }
    element.title = element.getAttribute("datetime");
    element.textContent = format.format(moment);
    element.dataset.local = "1";
  });
})();
