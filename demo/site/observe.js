/* Demo only: records what happens on the page (errors, console errors, fetches and the demo
   widget's reports) so that a visitor can read it under "What happened", and the browser test
   can read it from the DOM (#observations). Loaded first, before anything can go wrong. */
(function (w, d) {
  "use strict";
  var observations = { errors: [], fetches: [], widget: [], events: [] };
  w.demoObservations = observations;

  function describe(value) {
    try {
      return value && value.stack ? String(value.stack) : String(value);
    } catch (error) {
      return "(unprintable)";
    }
  }

  function note(kind, text) {
    observations.events.push({ kind: kind, text: text });
    if (w.demoPage) { w.demoPage.render(observations); }
  }

  function error(text) {
    observations.errors.push(text);
    note("error", text);
  }

  // Capturing, so that failed <script> and <link> loads are seen too.
  w.addEventListener("error", function (event) {
    var target = event.target;
    if (target && target !== w && (target.src || target.href)) {
      error("failed to load " + (target.src || target.href));
    } else {
      error("error: " + (event.message || describe(event.error)));
    }
  }, true);
  w.addEventListener("unhandledrejection", function (event) {
    error("unhandled rejection: " + describe(event.reason));
  });
  var consoleError = w.console.error;
  w.console.error = function () {
    error("console.error: " + Array.prototype.map.call(arguments, describe).join(" "));
    return consoleError.apply(w.console, arguments);
  };

  var realFetch = w.fetch;
  w.fetch = function (resource, options) {
    var record = { url: String(resource), credentials: (options && options.credentials) || "(default)" };
    observations.fetches.push(record);
    note("fetch", "fetch " + record.url + " (credentials: " + record.credentials + ")");
    return realFetch.apply(this, arguments).then(function (response) {
      record.status = response.status;
      note("fetch", "→ HTTP " + response.status + " for " + record.url);
      return response;
    }, function (failure) {
      record.error = describe(failure);
      note("error", "fetch of " + record.url + " failed: " + record.error);
      throw failure;
    });
  };

  // The demo widget reports each step as a "demo-widget" event.
  d.addEventListener("demo-widget", function (event) {
    var detail = event.detail || {};
    observations.widget.push(detail);
    if (detail.type === "init") {
      note("widget", "eS('init', " + JSON.stringify(detail.flags) + ", {language: " + JSON.stringify(detail.language) +
        ", getAuthTokenCallback}) reached the widget");
    } else if (detail.type === "token") {
      note("widget", "getAuthTokenCallback call " + detail.call + " resolved " + JSON.stringify(detail.token) +
        " → " + detail.state);
    } else if (detail.type === "invalidate") {
      note("widget", "token invalidated (simulated): the widget calls getAuthTokenCallback again");
    }
  });
})(window, document);
