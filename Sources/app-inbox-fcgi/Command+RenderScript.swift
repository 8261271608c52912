import AppInbox

extension Command {
    /// `render-script [--lang xx]`: writes the init script exactly as `init.js` serves it, e.g. to
    /// inline it into a page or to review it.
    static func renderScript(_ arguments: Arguments, config: Config) -> Int32 {
        let settings = config.initScript
        if let reason = settings.unavailableReason {
            printError("app-inbox-fcgi: render-script: \(reason)")
            return 2
        }
        let language = arguments.language?.lowercased() ?? settings.effectiveDefaultLanguage
        guard settings.languages.contains(language) else {
            printError(
                "app-inbox-fcgi: --lang: '\(language)' is not one of APP_INBOX_LANGUAGES "
                    + "(\(settings.languages.joined(separator: ",")))")
            return 2
        }
        let script = InitScript(settings: settings, basePath: config.basePath, language: language)
        return FileBytes.writeAll(script.body, to: 1) ? 0 : 1
    }
}
