extension AppInboxWorker {
    /// The `status` route (placeholder until the counters land).
    func status(_ request: Request) -> Response {
        APIError.notFound.response
    }
}
