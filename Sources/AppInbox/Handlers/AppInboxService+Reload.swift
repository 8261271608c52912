extension AppInboxService {
    /// Applies a re-read configuration (SIGHUP). The reloadable settings (the upstream's: key,
    /// URL, CA, timeouts; signed identity's keys and claims) take effect for each worker's next exchange; requests under way finish
    /// with the old ones. Returns the variables that changed but need a restart.
    @discardableResult
    public func reload(_ new: Config) -> [String] {
        let keyRotated = guards.publish(UpstreamSettings(config: new), timeoutMs: new.timeoutMs)
        let verifier = new.signedIdentityVerifier
        signedIdentity.write { $0 = verifier }
        // `config` is what the process started with; the tables list the same rows in the same order.
        let needRestart = zip(config.settings, new.settings)
            .filter { old, new in !old.reloadable && old.value != new.value }
            .map(\.0.variable)
        log.info(
            "reloaded",
            [
                "api_key": keyRotated ? "rotated" : "unchanged", "token_url": Config.displayed(url: new.tokenURL),
                "signed_identity_keys": verifier.map { String($0.keys.keys.count) } ?? "off",
            ])
        if !needRestart.isEmpty {
            log.warn("reload_needs_restart", ["variables": needRestart.joined(separator: ",")])
        }
        return needRestart
    }
}
