extension AppInboxWorker {
    /// The `init.js` route: the script pre-rendered for the negotiated language, or a 404 that
    /// says what to configure when the loader has no site id.
    func initScript(_ request: Request) -> Response {
        guard let scripts = service.initScripts else { return APIError.initScriptUnavailable.response }
        return scripts.response(to: request)
    }
}
