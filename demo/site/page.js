/* Demo only: shows observe.js's record under "What happened" and marks the current language.
   With #simulate-invalidation in the URL (the browser test uses it) it presses the widget's
   "simulate token invalidation" button once the first token has arrived. */
(function (w, d) {
  "use strict";
  var list = d.getElementById("demo-log");
  var raw = d.getElementById("observations");
  var autoInvalidate = w.location.hash === "#simulate-invalidation";
  var pressed = false;

  var chosen = d.body.getAttribute("data-lang") || "";
  var links = d.querySelectorAll(".languages a");
  for (var i = 0; i < links.length; i++) {
    if (links[i].getAttribute("data-lang") === chosen) { links[i].className = "current"; }
  }

  w.demoPage = {
    render: function (observations) {
      raw.textContent = JSON.stringify(observations, null, 2);
      list.textContent = "";
      observations.events.forEach(function (event) {
        var item = d.createElement("li");
        item.className = event.kind;
        item.textContent = event.text;
        list.appendChild(item);
      });
      var tokens = observations.widget.filter(function (step) { return step.type === "token"; });
      if (autoInvalidate && !pressed && tokens.length === 1) {
        pressed = true;
        w.setTimeout(function () { d.getElementById("demo-widget-invalidate").click(); }, 0);
      }
      var done = tokens.length >= (autoInvalidate ? 2 : 1);
      raw.setAttribute("data-done", done ? "1" : "0");
    }
  };
  w.demoPage.render(w.demoObservations);
})(window, document);
