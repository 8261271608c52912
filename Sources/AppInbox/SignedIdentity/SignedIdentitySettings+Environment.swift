extension SignedIdentitySettings {
    /// Reads the `APP_INBOX_SIGNED_IDENTITY_*` variables; `keys` are the keys read from the
    /// files, nil when signed identity is off or a file is wrong (a problem says which).
    init(_ reader: inout EnvironmentReader, readFile: (String) throws -> [UInt8], keys: inout SignedIdentityKeys?) {
        var settings = SignedIdentitySettings()
        settings.keysFile = reader.string("APP_INBOX_SIGNED_IDENTITY_KEYS")
        settings.secretFile = reader.string("APP_INBOX_SIGNED_IDENTITY_SECRET_FILE")
        if let cookie = reader.string("APP_INBOX_SIGNED_IDENTITY_COOKIE") {
            if cookie.utf8.allSatisfy(Self.isCookieNameByte) {
                settings.cookie = cookie
            } else {
                reader.problem(.init("APP_INBOX_SIGNED_IDENTITY_COOKIE", "must be a cookie name (letters, digits and !#$%&'*+-.^_`|~)"))
            }
        }
        if let audience = reader.string("APP_INBOX_SIGNED_IDENTITY_AUDIENCE") { settings.audience = audience }
        settings.issuer = reader.string("APP_INBOX_SIGNED_IDENTITY_ISSUER")
        reader.integer("APP_INBOX_SIGNED_IDENTITY_MAX_AGE_S", in: 60...31_536_000, into: &settings.maxAgeSeconds)
        settings.claims = IdentityClaims(&reader)
        self = settings
        keys = isOn ? loadKeys(&reader, readFile) : nil
    }

    /// The keys of both files; nil when either is wrong (a problem names it).
    private func loadKeys(_ reader: inout EnvironmentReader, _ readFile: (String) throws -> [UInt8]) -> SignedIdentityKeys? {
        var loaded: [VerificationKey] = []
        var failed = false
        if let path = keysFile {
            do {
                loaded += try SignedIdentityKeys.parse(file: try Self.read(path, readFile))
            } catch {
                reader.problem(.init("APP_INBOX_SIGNED_IDENTITY_KEYS", "\(path): \(error)"))
                failed = true
            }
        }
        if let path = secretFile {
            do {
                let secret = try Self.read(path, readFile)
                loaded.append(try VerificationKey.secret(Array(ASCII.trimmed(secret[...])), id: nil))
            } catch {
                reader.problem(.init("APP_INBOX_SIGNED_IDENTITY_SECRET_FILE", "\(path): \(error)"))
                failed = true
            }
        }
        return failed ? nil : SignedIdentityKeys(loaded)
    }

    private static func read(_ path: String, _ readFile: (String) throws -> [UInt8]) throws(KeyProblem) -> [UInt8] {
        do {
            return try readFile(path)
        } catch {
            throw KeyProblem("cannot read it: \(error)")
        }
    }

    /// RFC 6265 §4.1.1: a cookie name is an RFC 7230 token.
    private static func isCookieNameByte(_ byte: UInt8) -> Bool {
        ASCII.isNameByte(byte) || "!#$%&'*+-.^`|~".utf8.contains(byte)
    }

    /// This type's rows of `Config.settings`; all apply on reload, the key files re-read.
    var settings: [Setting] {
        [
            Setting(
                "APP_INBOX_SIGNED_IDENTITY_KEYS", keysFile ?? "", shown: keysFile ?? (isOn ? "(none)" : "(signed identity off)"),
                reloadable: true),
            Setting("APP_INBOX_SIGNED_IDENTITY_SECRET_FILE", secretFile ?? "", shown: secretFile ?? "(none)", reloadable: true),
            Setting("APP_INBOX_SIGNED_IDENTITY_COOKIE", cookie, reloadable: true),
            Setting("APP_INBOX_SIGNED_IDENTITY_AUDIENCE", audience, reloadable: true),
            Setting("APP_INBOX_SIGNED_IDENTITY_ISSUER", issuer ?? "", shown: issuer ?? "(not checked)", reloadable: true),
            Setting("APP_INBOX_SIGNED_IDENTITY_MAX_AGE_S", String(maxAgeSeconds), reloadable: true),
            Setting("APP_INBOX_SIGNED_IDENTITY_EMAIL_CLAIM", claims.email, reloadable: true),
            Setting("APP_INBOX_SIGNED_IDENTITY_PHONE_CLAIM", claims.phone, reloadable: true),
            Setting("APP_INBOX_SIGNED_IDENTITY_EXTERNAL_ID_CLAIM", claims.externalCustomerId, reloadable: true),
        ]
    }
}

extension IdentityClaims {
    /// Reads `APP_INBOX_SIGNED_IDENTITY_{EMAIL,PHONE,EXTERNAL_ID}_CLAIM`.
    init(_ reader: inout EnvironmentReader) {
        var claims = IdentityClaims()
        let variables: [(String, WritableKeyPath<IdentityClaims, String>)] = [
            ("APP_INBOX_SIGNED_IDENTITY_EMAIL_CLAIM", \.email), ("APP_INBOX_SIGNED_IDENTITY_PHONE_CLAIM", \.phone),
            ("APP_INBOX_SIGNED_IDENTITY_EXTERNAL_ID_CLAIM", \.externalCustomerId),
        ]
        for (variable, field) in variables {
            guard let name = reader.string(variable) else { continue }
            if Self.registered.contains(name) {
                reader.problem(.init(variable, "\(name) is a registered claim (RFC 7519 §4.1), not a user's field"))
            } else {
                claims[keyPath: field] = name
            }
        }
        let names = variables.map { claims[keyPath: $0.1] }
        if Set(names).count < names.count {
            reader.problem(.init("APP_INBOX_SIGNED_IDENTITY_EMAIL_CLAIM", "the three identity claims must have different names"))
        }
        self = claims
    }
}
