/* Tries to read the demo shop's token from another site, twice: a CORS request, which the browser
   refuses to show this page, and a no-cors request, whose answer is opaque. Writes what it could
   read into #result for the visitor and the browser test. */
(function (w, d) {
  "use strict";
  var url = d.body.getAttribute("data-target") + "/app-inbox/token";
  var result = { url: url, cors: null, noCors: null, done: false };
  function show() { d.getElementById("result").textContent = JSON.stringify(result, null, 2); }

  function attempt(mode) {
    return w.fetch(url, { mode: mode, credentials: "include" }).then(function (response) {
      return response.text().then(function (body) {
        return { readable: response.type !== "opaque", type: response.type, status: response.status, body: body };
      });
    }, function (failure) {
      return { readable: false, error: String(failure) };
    });
  }

  attempt("cors").then(function (cors) {
    result.cors = cors;
    show();
    return attempt("no-cors");
  }).then(function (noCors) {
    result.noCors = noCors;
    result.done = true;
    show();
  });
  show();
})(window, document);
