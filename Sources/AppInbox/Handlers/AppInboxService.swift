/// State shared by all workers: the configuration, the log, the curl share handle and the
/// single-flight table. Each worker thread gets its own `AppInboxWorker` from `makeWorker()`.
public final class AppInboxService: Sendable {
    /// The effective configuration.
    public let config: Config
    /// Where events are logged.
    public let log: Log
    let share: CurlShare
    let flights = SingleFlight<ContactIdentity, ExchangeOutcome>()

    /// Creates the shared state; call after `CurlShare.globalInit()`, before the workers start.
    public init(config: Config, log: Log) throws(UpstreamSetupError) {
        self.config = config
        self.log = log
        share = try CurlShare()
    }

    /// A worker with its own curl handle; call on the worker's own thread.
    public func makeWorker() throws(UpstreamSetupError) -> AppInboxWorker {
        let upstream = try CurlUpstream(settings: UpstreamSettings(config: config), share: share)
        return AppInboxWorker(
            service: self, exchange: TokenExchange(transport: upstream, timeoutMs: config.timeoutMs, log: log))
    }
}
