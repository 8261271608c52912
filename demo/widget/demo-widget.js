/* A stand-in for eSputnik's script in the app-inbox-fcgi demo, which runs offline where the real
   one cannot load. Like eSputnik's script it takes the calls waiting in the eS queue; for
   eS('init', {APP_INBOX: true}, {getAuthTokenCallback, language}) it draws a bell that shows what
   the callback resolved, in that language, and a button that simulates a token invalidation,
   after which eSputnik's script would call the callback again. It reports each step as a
   "demo-widget" DOM event for the demo page. */
(function (w, d) {
  "use strict";
  var texts = {
    en: {
      title: "App Inbox", waiting: "Asking for a token…", token: "Token received", renewed: "Token renewed",
      unknown: "Signed in, but eSputnik knows no such contact", signedOut: "Signed out: no inbox",
      invalidate: "Simulate token invalidation"
    },
    uk: {
      title: "Вхідні App Inbox", waiting: "Запитуємо токен…", token: "Токен отримано", renewed: "Токен оновлено",
      unknown: "Ви ввійшли, але eSputnik не знає такого контакту", signedOut: "Ви не ввійшли: вхідних немає",
      invalidate: "Імітувати анулювання токена"
    }
  };

  function report(detail) {
    d.dispatchEvent(new CustomEvent("demo-widget", { detail: detail }));
  }

  function element(tag, className, parent) {
    var node = d.createElement(tag);
    node.className = className;
    parent.appendChild(node);
    return node;
  }

  function start(flags, options) {
    options = options || {};
    report({ type: "init", flags: flags, language: options.language });
    if (!flags || flags.APP_INBOX !== true || typeof options.getAuthTokenCallback !== "function") { return; }
    var t = texts[options.language] || texts.en;
    var slot = d.getElementById("app-inbox-bell") || d.body.appendChild(d.createElement("div"));
    slot.className += " demo-widget";
    slot.setAttribute("lang", options.language || "en");
    // A drawn bell rather than an emoji, which machines without an emoji font show as a box.
    element("span", "bell", slot).innerHTML = '<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true">' +
      '<path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6v-5a7 7 0 0 0-5.5-6.84' +
      'V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2z"/></svg>';
    var panel = element("div", "panel", slot);
    element("b", "title", panel).textContent = t.title;
    var state = element("p", "state", panel);
    var token = element("code", "token", panel);
    var button = element("button", "invalidate", panel);
    button.type = "button";
    button.id = "demo-widget-invalidate";
    button.textContent = t.invalidate;

    var calls = 0;
    function ask() {
      calls += 1;
      var call = calls;
      slot.setAttribute("data-state", "waiting");
      state.textContent = t.waiting;
      Promise.resolve(options.getAuthTokenCallback()).then(function (received) {
        // The real widget only sees "" in both cases; the demo tells them apart by the page's sign-in.
        var kind = received ? "token" : d.body.getAttribute("data-user") ? "unknown" : "signed-out";
        slot.setAttribute("data-state", kind);
        state.textContent = kind === "token" ? (call > 1 ? t.renewed : t.token) : kind === "unknown" ? t.unknown : t.signedOut;
        token.textContent = received;
        report({ type: "token", call: call, token: received, state: kind });
      });
    }
    button.addEventListener("click", function () {
      report({ type: "invalidate", call: calls + 1 });
      ask();
    });
    ask();
  }

  function handle(args) {
    if (args && args[0] === "init") { start(args[1], args[2]); }
  }

  var eS = w.eS;
  if (typeof eS !== "function") { return; }
  // The loader's queue holds the arguments of each eS.c call, whose first is those of eS(…).
  var queued = eS.q || [];
  eS.q = [];
  eS.c = function (args) { handle(args); };
  for (var i = 0; i < queued.length; i++) { handle(queued[i][0]); }
})(window, document);
