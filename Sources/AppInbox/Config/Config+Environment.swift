extension Config {
    /// Builds the configuration from environment variables, collecting every problem
    /// rather than stopping at the first, so one run of `check-config` shows them all.
    ///
    /// - Parameter readFile: reads `APP_INBOX_API_KEY_FILE` and the signed identity key files;
    ///   injected for tests.
    public static func load(
        environment env: [String: String],
        readFile: (String) throws -> [UInt8] = FileBytes.read
    ) -> Result<Config, ConfigProblems> {
        var config = Config()
        var reader = EnvironmentReader(env: env)

        if let key = reader.string("APP_INBOX_API_KEY") { config.apiKey = key }
        if let path = reader.string("APP_INBOX_API_KEY_FILE") {
            if reader.string("APP_INBOX_API_KEY") != nil {
                reader.problem(.init("APP_INBOX_API_KEY_FILE", "set either APP_INBOX_API_KEY or APP_INBOX_API_KEY_FILE, not both"))
            }
            do {
                config.apiKey = ASCII.trimmed(String(decoding: try readFile(path), as: UTF8.self))
                if config.apiKey.isEmpty {
                    reader.problem(.init("APP_INBOX_API_KEY_FILE", "the file \(path) is empty"))
                }
            } catch {
                reader.problem(.init("APP_INBOX_API_KEY_FILE", "cannot read \(path): \(error)"))
            }
        }
        if config.apiKey.isEmpty, reader.string("APP_INBOX_API_KEY_FILE") == nil {
            reader.problem(.init("APP_INBOX_API_KEY", "the eSputnik API key is required (or APP_INBOX_API_KEY_FILE)"))
        }
        if config.apiKey.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            reader.problem(.init("APP_INBOX_API_KEY", "contains control characters"))
        }

        if let url = reader.string("APP_INBOX_TOKEN_URL") {
            if url.utf8.count > maxTokenURLBytes {
                reader.problem(.init("APP_INBOX_TOKEN_URL", "is longer than \(maxTokenURLBytes) bytes"))
            } else if url.hasPrefix("https://"), url.utf8.count > "https://".utf8.count,
                !url.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F || Self.notInURLs.contains($0) })
            {
                config.tokenURL = url
            } else {
                reader.problem(
                    .init(
                        "APP_INBOX_TOKEN_URL",
                        "must be an https:// URL (TLS verification is always on), without spaces, quotes, \\, <, >, ^, `, {, | or }"
                    ))
            }
        }
        config.caFile = reader.string("APP_INBOX_CA_FILE")
        if let caFile = config.caFile, (try? readFile(caFile)) == nil {
            reader.problem(.init("APP_INBOX_CA_FILE", "cannot read \(caFile)"))
        }

        reader.integer("APP_INBOX_CONNECT_TIMEOUT_MS", in: 1...600_000, into: &config.connectTimeoutMs)
        reader.integer("APP_INBOX_TIMEOUT_MS", in: 1...600_000, into: &config.timeoutMs)
        reader.integer("APP_INBOX_THREADS", in: threadRange, into: &config.threads)
        reader.integer("APP_INBOX_SHUTDOWN_GRACE_S", in: 0...3600, into: &config.shutdownGraceSeconds)
        reader.integer("APP_INBOX_IDLE_TIMEOUT_S", in: 1...3600, into: &config.idleTimeoutSeconds)
        reader.integer("APP_INBOX_MAX_PARAMS_BYTES", in: 4096...1_048_576, into: &config.maxParamsBytes)
        reader.flag("APP_INBOX_ALLOW_REMOTE_LISTEN", into: &config.allowRemoteListen)

        if let base = reader.string("APP_INBOX_BASE_PATH") {
            if let normalized = normalizedBasePath(base) {
                config.basePath = normalized
            } else {
                reader.problem(.init("APP_INBOX_BASE_PATH", "must be a path starting with / without ?, # or spaces"))
            }
        }

        if let mode = reader.string("APP_INBOX_SOCKET_MODE") {
            if let bits = UInt32(mode, radix: 8), bits <= 0o777 {
                config.socketMode = bits
            } else {
                reader.problem(.init("APP_INBOX_SOCKET_MODE", "must be octal permission bits such as 660"))
            }
        }

        reader.flag("APP_INBOX_ALLOW_HEADER_IDENTITY", into: &config.allowHeaderIdentity)
        let paramVariables: [(String, WritableKeyPath<IdentityParams, String>)] = [
            ("APP_INBOX_EMAIL_PARAM", \.email),
            ("APP_INBOX_PHONE_PARAM", \.phone),
            ("APP_INBOX_EXTERNAL_ID_PARAM", \.externalCustomerId),
        ]
        for (variable, field) in paramVariables {
            if let name = reader.string(variable) { config.identityParams[keyPath: field] = name }
            let name = config.identityParams[keyPath: field]
            if name.isEmpty || name.utf8.contains(where: { !ASCII.isNameByte($0) }) {
                reader.problem(.init(variable, "must be a param name of letters, digits and _"))
            } else if name.hasPrefix("HTTP_"), !config.allowHeaderIdentity {
                reader.problem(
                    .init(
                        variable,
                        "\(name) is a request header that any client can set, not an identity the web server validated; "
                            + "set APP_INBOX_ALLOW_HEADER_IDENTITY=1 only if the web server overwrites it"))
            }
        }

        if let level = reader.string("APP_INBOX_LOG_LEVEL") {
            if let parsed = LogLevel(rawValue: level) {
                config.logLevel = parsed
            } else {
                reader.problem(.init("APP_INBOX_LOG_LEVEL", "must be error, warn, info or debug"))
            }
        }
        if let format = reader.string("APP_INBOX_LOG_FORMAT") {
            if let parsed = LogFormat(rawValue: format) {
                config.logFormat = parsed
            } else {
                reader.problem(.init("APP_INBOX_LOG_FORMAT", "must be text or json"))
            }
        }

        config.resilience = ResilienceSettings(&reader)
        config.initScript = InitScriptSettings(&reader)
        config.signedIdentity = SignedIdentitySettings(&reader, readFile: readFile, keys: &config.signedIdentityKeys)
        config.fleet = FleetSettings(&reader, readFile: readFile)

        return reader.problems.isEmpty ? .success(config) : .failure(ConfigProblems(problems: reader.problems))
    }

    /// Bytes RFC 3986 §2 never allows unencoded in a URL. A backslash among them is what an env
    /// file line shows when it swallowed the next line through a literal `\n`.
    static let notInURLs = Set(#""<>\^`{|}"#.utf8)

    /// Every variable with its effective value: the table `check-config` prints and a reload
    /// compares. The upstream's variables are reloadable, so the API key can be rotated.
    public var settings: [Setting] {
        [
            Setting("APP_INBOX_API_KEY", "", shown: "(set, \(apiKey.utf8.count) bytes, redacted)", reloadable: true),
            Setting("APP_INBOX_TOKEN_URL", tokenURL, shown: Self.displayed(url: tokenURL), reloadable: true),
            Setting("APP_INBOX_CA_FILE", caFile ?? "", shown: caFile ?? "(system CAs only)", reloadable: true),
            Setting("APP_INBOX_CONNECT_TIMEOUT_MS", String(connectTimeoutMs), reloadable: true),
            Setting("APP_INBOX_TIMEOUT_MS", String(timeoutMs), reloadable: true),
            Setting("APP_INBOX_BASE_PATH", basePath),
            Setting("APP_INBOX_EMAIL_PARAM", identityParams.email),
            Setting("APP_INBOX_PHONE_PARAM", identityParams.phone),
            Setting("APP_INBOX_EXTERNAL_ID_PARAM", identityParams.externalCustomerId),
            Setting("APP_INBOX_ALLOW_HEADER_IDENTITY", allowHeaderIdentity ? "1" : "0"),
            Setting("APP_INBOX_THREADS", String(threads)),
            Setting("APP_INBOX_SOCKET_MODE", String(socketMode, radix: 8)),
            Setting("APP_INBOX_SHUTDOWN_GRACE_S", String(shutdownGraceSeconds)),
            Setting("APP_INBOX_IDLE_TIMEOUT_S", String(idleTimeoutSeconds)),
            Setting("APP_INBOX_MAX_PARAMS_BYTES", String(maxParamsBytes)),
            Setting("APP_INBOX_ALLOW_REMOTE_LISTEN", allowRemoteListen ? "1" : "0"),
            Setting("APP_INBOX_LOG_LEVEL", logLevel.rawValue),
            Setting("APP_INBOX_LOG_FORMAT", logFormat.rawValue),
        ] + resilience.settings + initScript.settings + signedIdentity.settings + fleet.settings
    }

    /// The effective settings as `NAME=value` lines, with the key redacted (for `check-config`).
    public var summary: [String] { settings.map(\.line) }

    /// A URL as logs and `check-config` show it: credentials in its userinfo part replaced by
    /// `***`, and cut to 200 bytes so that no setting can fill the log.
    public static func displayed(url: String) -> String {
        var bytes = Array(url.utf8)
        if let schemeEnd = bytes.firstIndex(of: UInt8(ascii: ":")), bytes[schemeEnd...].starts(with: "://".utf8) {
            let authorityStart = schemeEnd + 3
            let authorityEnd =
                bytes[authorityStart...].firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }
                ?? bytes.endIndex
            if let at = bytes[authorityStart..<authorityEnd].lastIndex(of: UInt8(ascii: "@")) {
                bytes.replaceSubrange(authorityStart..<at, with: "***".utf8)
            }
        }
        let limit = 200
        guard bytes.count > limit else { return String(decoding: bytes, as: UTF8.self) }
        return String(decoding: bytes[..<limit], as: UTF8.self) + "…(\(bytes.count) bytes)"
    }

    /// `/app-inbox/` → `/app-inbox`; `/` → `` (routes at the root).
    static func normalizedBasePath(_ raw: String) -> String? {
        guard raw.hasPrefix("/"), !raw.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F || $0 == 0x3F || $0 == 0x23 })
        else { return nil }
        var path = Substring(raw)
        while path.hasSuffix("/") { path = path.dropLast() }
        return String(path)
    }
}

/// Every problem found in one configuration.
public struct ConfigProblems: Error, Sendable, Equatable {
    /// The problems, in the order the variables were read.
    public var problems: [ConfigProblem]
}

/// Reads variables, treating empty values as unset, and collects every problem found, in the
/// order the variables were read.
struct EnvironmentReader {
    let env: [String: String]
    private(set) var problems: [ConfigProblem] = []

    init(env: [String: String]) {
        self.env = env
    }

    func string(_ name: String) -> String? {
        guard let value = env[name], !value.isEmpty else { return nil }
        return value
    }

    /// Whether `name` already has a problem.
    func hasProblem(_ name: String) -> Bool { problems.contains { $0.variable == name } }

    mutating func problem(_ problem: ConfigProblem) {
        problems.append(problem)
    }

    mutating func flag(_ name: String, into field: inout Bool) {
        guard let text = string(name) else { return }
        switch text {
        case "1", "true", "yes": field = true
        case "0", "false", "no": field = false
        default: problem(.init(name, "must be 1 or 0 (or true/false, yes/no)"))
        }
    }

    mutating func integer(_ name: String, in range: ClosedRange<Int>, into field: inout Int) {
        guard let text = string(name) else { return }
        if let value = Int(text), range.contains(value) {
            field = value
        } else {
            problem(.init(name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)"))
        }
    }
}
