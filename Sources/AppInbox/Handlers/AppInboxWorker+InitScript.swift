extension AppInboxWorker {
    /// The `init.js` route (issue 3 replaces this placeholder).
    func initScript(_ request: Request) -> Response {
        APIError.notFound.response
    }
}
