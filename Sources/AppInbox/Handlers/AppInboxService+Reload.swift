extension AppInboxService {
    /// Variables that a reload applies at once: the upstream's, so the API key can be rotated.
    static let reloadableVariables: Set<String> = [
        "APP_INBOX_API_KEY", "APP_INBOX_TOKEN_URL", "APP_INBOX_CA_FILE", "APP_INBOX_CONNECT_TIMEOUT_MS",
        "APP_INBOX_TIMEOUT_MS",
    ]

    /// Applies a re-read configuration (SIGHUP). Upstream settings take effect for each worker's
    /// next exchange; requests under way finish with the old ones. Returns the variables that
    /// changed but need a restart.
    @discardableResult
    public func reload(_ new: Config) -> [String] {
        let keyRotated = guards.publish(UpstreamSettings(config: new), timeoutMs: new.timeoutMs)
        let before = Dictionary(config.summary.map(Self.assignment), uniquingKeysWith: { first, _ in first })
        let needRestart = new.summary.map(Self.assignment)
            .filter { before[$0.0] != $0.1 && !Self.reloadableVariables.contains($0.0) }
            .map(\.0)
        log.info("reloaded", ["api_key": keyRotated ? "rotated" : "unchanged", "token_url": Config.displayed(url: new.tokenURL)])
        if !needRestart.isEmpty {
            log.warn("reload_needs_restart", ["variables": needRestart.joined(separator: ",")])
        }
        return needRestart
    }

    private static func assignment(_ line: String) -> (String, String) {
        let parts = line.split(separator: "=", maxSplits: 1)
        return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
    }
}
