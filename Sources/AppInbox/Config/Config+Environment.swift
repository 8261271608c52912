extension Config {
    /// Builds the configuration from environment variables, collecting every problem
    /// rather than stopping at the first, so one run of `check-config` shows them all.
    ///
    /// - Parameter readFile: reads `APP_INBOX_API_KEY_FILE`; injected for tests.
    public static func load(
        environment env: [String: String],
        readFile: (String) throws -> [UInt8] = FileBytes.read
    ) -> Result<Config, ConfigProblems> {
        var config = Config()
        var problems: [ConfigProblem] = []
        let reader = EnvironmentReader(env: env)

        if let key = reader.string("APP_INBOX_API_KEY") { config.apiKey = key }
        if let path = reader.string("APP_INBOX_API_KEY_FILE") {
            if reader.string("APP_INBOX_API_KEY") != nil {
                problems.append(.init("APP_INBOX_API_KEY_FILE", "set either APP_INBOX_API_KEY or APP_INBOX_API_KEY_FILE, not both"))
            }
            do {
                config.apiKey = trimmed(String(decoding: try readFile(path), as: UTF8.self))
                if config.apiKey.isEmpty {
                    problems.append(.init("APP_INBOX_API_KEY_FILE", "the file \(path) is empty"))
                }
            } catch {
                problems.append(.init("APP_INBOX_API_KEY_FILE", "cannot read \(path): \(error)"))
            }
        }
        if config.apiKey.isEmpty, reader.string("APP_INBOX_API_KEY_FILE") == nil {
            problems.append(.init("APP_INBOX_API_KEY", "the eSputnik API key is required (or APP_INBOX_API_KEY_FILE)"))
        }
        if config.apiKey.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            problems.append(.init("APP_INBOX_API_KEY", "contains control characters"))
        }

        if let url = reader.string("APP_INBOX_TOKEN_URL") {
            if url.utf8.count > maxTokenURLBytes {
                problems.append(.init("APP_INBOX_TOKEN_URL", "is longer than \(maxTokenURLBytes) bytes"))
            } else if url.hasPrefix("https://"), url.utf8.count > "https://".utf8.count,
                !url.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F })
            {
                config.tokenURL = url
            } else {
                problems.append(.init("APP_INBOX_TOKEN_URL", "must be an https:// URL (TLS verification is always on)"))
            }
        }
        config.caFile = reader.string("APP_INBOX_CA_FILE")
        if let caFile = config.caFile, (try? readFile(caFile)) == nil {
            problems.append(.init("APP_INBOX_CA_FILE", "cannot read \(caFile)"))
        }

        reader.integer("APP_INBOX_CONNECT_TIMEOUT_MS", in: 1...600_000, into: &config.connectTimeoutMs, &problems)
        reader.integer("APP_INBOX_TIMEOUT_MS", in: 1...600_000, into: &config.timeoutMs, &problems)
        reader.integer("APP_INBOX_THREADS", in: 1...1024, into: &config.threads, &problems)
        reader.integer("APP_INBOX_SHUTDOWN_GRACE_S", in: 0...3600, into: &config.shutdownGraceSeconds, &problems)
        reader.integer("APP_INBOX_IDLE_TIMEOUT_S", in: 1...3600, into: &config.idleTimeoutSeconds, &problems)
        reader.integer("APP_INBOX_MAX_PARAMS_BYTES", in: 4096...1_048_576, into: &config.maxParamsBytes, &problems)
        reader.flag("APP_INBOX_ALLOW_REMOTE_LISTEN", into: &config.allowRemoteListen, &problems)

        if let base = reader.string("APP_INBOX_BASE_PATH") {
            if let normalized = normalizedBasePath(base) {
                config.basePath = normalized
            } else {
                problems.append(.init("APP_INBOX_BASE_PATH", "must be a path starting with / without ?, # or spaces"))
            }
        }

        if let mode = reader.string("APP_INBOX_SOCKET_MODE") {
            if let bits = UInt32(mode, radix: 8), bits <= 0o777 {
                config.socketMode = bits
            } else {
                problems.append(.init("APP_INBOX_SOCKET_MODE", "must be octal permission bits such as 660"))
            }
        }

        reader.flag("APP_INBOX_ALLOW_HEADER_IDENTITY", into: &config.allowHeaderIdentity, &problems)
        let paramVariables: [(String, WritableKeyPath<IdentityParams, String>)] = [
            ("APP_INBOX_EMAIL_PARAM", \.email),
            ("APP_INBOX_PHONE_PARAM", \.phone),
            ("APP_INBOX_EXTERNAL_ID_PARAM", \.externalCustomerId),
        ]
        for (variable, field) in paramVariables {
            if let name = reader.string(variable) { config.identityParams[keyPath: field] = name }
            let name = config.identityParams[keyPath: field]
            if name.isEmpty || name.utf8.contains(where: { !isNameByte($0) }) {
                problems.append(.init(variable, "must be a param name of letters, digits and _"))
            } else if name.hasPrefix("HTTP_"), !config.allowHeaderIdentity {
                problems.append(
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
                problems.append(.init("APP_INBOX_LOG_LEVEL", "must be error, warn, info or debug"))
            }
        }
        if let format = reader.string("APP_INBOX_LOG_FORMAT") {
            if let parsed = LogFormat(rawValue: format) {
                config.logFormat = parsed
            } else {
                problems.append(.init("APP_INBOX_LOG_FORMAT", "must be text or json"))
            }
        }

        config.resilience = loadResilience(reader, &problems)
        config.initScript = loadInitScript(reader, &problems)

        return problems.isEmpty ? .success(config) : .failure(ConfigProblems(problems: problems))
    }

    /// The effective settings as `NAME=value` lines, with the key redacted (for `check-config`).
    public var summary: [String] {
        [
            "APP_INBOX_API_KEY=(set, \(apiKey.utf8.count) bytes, redacted)",
            "APP_INBOX_TOKEN_URL=\(Self.displayed(url: tokenURL))",
            "APP_INBOX_CA_FILE=\(caFile ?? "(system CAs only)")",
            "APP_INBOX_CONNECT_TIMEOUT_MS=\(connectTimeoutMs)",
            "APP_INBOX_TIMEOUT_MS=\(timeoutMs)",
            "APP_INBOX_BASE_PATH=\(basePath)",
            "APP_INBOX_EMAIL_PARAM=\(identityParams.email)",
            "APP_INBOX_PHONE_PARAM=\(identityParams.phone)",
            "APP_INBOX_EXTERNAL_ID_PARAM=\(identityParams.externalCustomerId)",
            "APP_INBOX_ALLOW_HEADER_IDENTITY=\(allowHeaderIdentity ? 1 : 0)",
            "APP_INBOX_THREADS=\(threads)",
            "APP_INBOX_SOCKET_MODE=\(String(socketMode, radix: 8))",
            "APP_INBOX_SHUTDOWN_GRACE_S=\(shutdownGraceSeconds)",
            "APP_INBOX_IDLE_TIMEOUT_S=\(idleTimeoutSeconds)",
            "APP_INBOX_MAX_PARAMS_BYTES=\(maxParamsBytes)",
            "APP_INBOX_ALLOW_REMOTE_LISTEN=\(allowRemoteListen ? 1 : 0)",
            "APP_INBOX_LOG_LEVEL=\(logLevel.rawValue)",
            "APP_INBOX_LOG_FORMAT=\(logFormat.rawValue)",
        ] + resilienceSummary + initScriptSummary
    }

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

    /// Letters, digits and `_`: what variable and param names are made of.
    static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
            true
        default: false
        }
    }

    static func trimmed(_ text: String) -> String {
        let whitespace: Set<Unicode.Scalar> = [" ", "\t", "\r", "\n"]
        var scalars = Substring(text).unicodeScalars
        while let first = scalars.first, whitespace.contains(first) { scalars.removeFirst() }
        while let last = scalars.last, whitespace.contains(last) { scalars.removeLast() }
        return String(scalars)
    }
}

/// Every problem found in one configuration.
public struct ConfigProblems: Error, Sendable, Equatable {
    /// The problems, in the order the variables were read.
    public var problems: [ConfigProblem]
}

/// Reads variables, treating empty values as unset.
struct EnvironmentReader {
    let env: [String: String]

    func string(_ name: String) -> String? {
        guard let value = env[name], !value.isEmpty else { return nil }
        return value
    }

    func flag(_ name: String, into field: inout Bool, _ problems: inout [ConfigProblem]) {
        guard let text = string(name) else { return }
        switch text {
        case "1", "true", "yes": field = true
        case "0", "false", "no": field = false
        default: problems.append(.init(name, "must be 1 or 0 (or true/false, yes/no)"))
        }
    }

    func integer(_ name: String, in range: ClosedRange<Int>, into field: inout Int, _ problems: inout [ConfigProblem]) {
        guard let text = string(name) else { return }
        if let value = Int(text), range.contains(value) {
            field = value
        } else {
            problems.append(.init(name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)"))
        }
    }
}
