/// The JavaScript that `init.js` serves in one language: optionally eSputnik's loader, then one
/// `eS('init', {APP_INBOX: true, …}, {getAuthTokenCallback, language})`. Rendered once at startup.
///
/// Every configured value enters the script through `JSONString`, whose literals cannot end the
/// string (quotes, backslashes, line terminators including U+2028/U+2029 are escaped) nor the
/// surrounding `<script>` element (`<`, `>` and `&` are `\u` escapes), so the body is also safe to
/// paste inline into a page.
public struct InitScript: Sendable, Equatable {
    /// The ISO 639-1 code passed to eSputnik as `language`.
    public let language: String
    /// The script, UTF-8.
    public let body: [UInt8]
    /// The strong ETag of `body`; nil (no ETag, no 304) in the unlikely case that SHA-256 failed.
    public let etag: String?

    /// Renders the script for `language` from the settings; `basePath` locates the token route.
    public init(settings: InitScriptSettings, basePath: String, language: String) {
        self.language = language
        body = Array(Self.source(settings: settings, basePath: basePath, language: language).utf8)
        etag = EntityTag.strong(for: body)
    }

    static func source(settings: InitScriptSettings, basePath: String, language: String) -> String {
        let js = JSONString.encode
        var loader = ""
        if settings.includesLoader, let siteID = settings.siteID {
            loader = """

                    var script = d.createElement("script");
                    script.async = true;
                    script.src = \(js(settings.scriptBaseURL)) + \(js(siteID)) + ".js";
                    var first = d.getElementsByTagName("script")[0];
                    if (first && first.parentNode) { first.parentNode.insertBefore(script, first); }
                    else { (d.head || d.documentElement).appendChild(script); }
                """
        }
        // The eS stub has the shape of eSputnik's own loader snippet (calls wait in eS.q, each as
        // the arguments of eS.c), because eSputnik's script drains that queue when it arrives.
        // Without the loader the stub is still needed when the site's eSputnik snippet comes later
        // in the page: that snippet keeps an existing eS, and its script drains our queue.
        return """
            /* app-inbox-fcgi: eSputnik App Inbox for this site's signed-in user (language \(language)). */
            (function (w, d) {
              "use strict";
              // eSputnik asks for one init per page load: a second copy of this script does nothing.
              if (w.__appInboxFcgiInit) { return; }
              w.__appInboxFcgiInit = true;
              if (typeof w.eS !== "function") {
                var eS = function () { eS.c(arguments); };
                eS.q = [];
                eS.c = function () { eS.q.push(arguments); };
                w.eS = eS;\(loader)
              }
              var calls = 0;
              // Resolves the token of the signed-in user, or "" when nobody is signed in (401), the
              // contact is unknown to eSputnik, or anything fails. eSputnik calls again only when the
              // token was invalidated, so every later call asks for a fresh one, past any cache.
              function getAuthTokenCallback() {
                var url = \(js(basePath + "/token")) + (calls++ === 0 ? "" : "?fresh=1");
                try {
                  return w.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
                    .then(function (response) { return response.ok ? response.json() : null; })
                    .then(function (answer) { return answer && typeof answer.token === "string" ? answer.token : ""; })
                    .catch(function () { return ""; });
                } catch (error) {
                  return Promise.resolve("");
                }
              }
              w.eS("init", \(flagsObject(settings.initFlags)), {
                getAuthTokenCallback: getAuthTokenCallback,
                language: \(js(language))
              });
            })(window, document);

            """
    }

    /// `{"APP_INBOX":true,"RECOMS":true,…}`: names and string values as JS string literals.
    static func flagsObject(_ flags: [InitFlag]) -> String {
        var object = #"{"APP_INBOX":true"#
        for flag in flags {
            object += "," + JSONString.encode(flag.name) + ":"
            switch flag.value {
            case .bool(let value): object += value ? "true" : "false"
            case .number(let value): object += String(value)
            case .string(let value): object += JSONString.encode(value)
            }
        }
        return object + "}"
    }
}
