/// Fleet mode's settings (README "Scaling out"): where Redis is, how long to wait for it, the
/// fleet's budget of calls to eSputnik, and the secret the fleet shares. Without
/// `APP_INBOX_REDIS_URL` fleet mode is off and none of the others matter.
public struct FleetSettings: Sendable {
    /// Where the fleet's Redis is; nil: fleet mode off.
    public var redis: RedisEndpoint?
    /// How long one Redis round trip may take before the request goes on with local limits.
    public var redisTimeoutMs = 50
    /// Calls to eSputnik per second for the whole fleet: below eSputnik's documented 200 per
    /// second per account for methods outside its own rate-limit table, the token call among them.
    public var upstreamRPS = 150
    /// The fleet's shared secret (`APP_INBOX_CACHE_KEY_FILE`) and what derives from it.
    public var secret: FleetSecret?
    /// The file it came from, for `check-config`.
    public var secretFile: String?

    /// Creates the settings of fleet mode off.
    public init() {}
}

extension FleetSettings {
    /// Reads `APP_INBOX_REDIS_URL`, `APP_INBOX_REDIS_TIMEOUT_MS`, `APP_INBOX_UPSTREAM_RPS` and
    /// `APP_INBOX_CACHE_KEY_FILE`.
    init(_ reader: inout EnvironmentReader, readFile: (String) throws -> [UInt8]) {
        var settings = FleetSettings()
        if let url = reader.string("APP_INBOX_REDIS_URL"), !url.isEmpty {
            switch RedisEndpoint.parse(url) {
            case .success(let endpoint): settings.redis = endpoint
            case .failure(let error): reader.problem(.init("APP_INBOX_REDIS_URL", error.message))
            }
        }
        reader.integer("APP_INBOX_REDIS_TIMEOUT_MS", in: 1...10_000, into: &settings.redisTimeoutMs)
        reader.integer("APP_INBOX_UPSTREAM_RPS", in: 1...100_000, into: &settings.upstreamRPS)
        if let path = reader.string("APP_INBOX_CACHE_KEY_FILE") {
            settings.secretFile = path
            do {
                let secret = Array(ASCII.trimmed(try readFile(path)[...]))
                if secret.count < FleetSecret.minimumBytes {
                    reader.problem(
                        .init(
                            "APP_INBOX_CACHE_KEY_FILE",
                            "\(path) holds \(secret.count) bytes; the fleet's secret needs at least \(FleetSecret.minimumBytes) "
                                + "(for example: head -c 32 /dev/urandom | base64 > \(path))"))
                } else if let derived = FleetSecret(secret: secret) {
                    settings.secret = derived
                } else {
                    reader.problem(.init("APP_INBOX_CACHE_KEY_FILE", "OpenSSL could not derive the fleet's keys"))
                }
            } catch {
                reader.problem(.init("APP_INBOX_CACHE_KEY_FILE", "cannot read \(path): \(error)"))
            }
        } else if settings.redis != nil {
            reader.problem(
                .init(
                    "APP_INBOX_CACHE_KEY_FILE",
                    "fleet mode (APP_INBOX_REDIS_URL) needs a secret shared by every responder of the fleet, "
                        + "at least \(FleetSecret.minimumBytes) bytes, in a file readable only by the responder"))
        }
        self = settings
    }

    /// This type's rows of `Config.settings`; changing any of them takes a restart.
    var settings: [Setting] {
        [
            Setting("APP_INBOX_REDIS_URL", redis?.displayed ?? "", shown: redis?.displayed ?? "(fleet mode off)"),
            Setting("APP_INBOX_REDIS_TIMEOUT_MS", String(redisTimeoutMs)),
            Setting(
                "APP_INBOX_UPSTREAM_RPS", String(upstreamRPS),
                shown: "\(upstreamRPS)\(redis == nil ? " (applies in fleet mode)" : "")"),
            Setting("APP_INBOX_CACHE_KEY_FILE", secretFile ?? "", shown: secretFile.map { "\($0) (redacted)" } ?? "(not set)"),
        ]
    }
}
