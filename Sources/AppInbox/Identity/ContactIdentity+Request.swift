extension ContactIdentity {
    /// Byte limits per field, after trimming (README.md "Identity").
    static let maxEmailBytes = 254
    static let maxPhoneBytes = 32
    static let maxExternalIdBytes = 256

    /// Reads the identity that the web server validated, from the configured params only:
    /// never from the query string, the body or a header the client chose.
    ///
    /// - Throws: `APIError` 401 when no identity param is set, 400 when one is malformed, 500 when
    ///   one occurs more than once (the web server's configuration lets two values compete).
    public static func read(from request: Request, params: IdentityParams) throws(APIError) -> ContactIdentity {
        for name in [params.email, params.phone, params.externalCustomerId] where request.occurrences(name) > 1 {
            throw .repeatedIdentityParam(name)
        }
        return try validated(
            email: request.param(params.email), phone: request.param(params.phone),
            externalCustomerId: request.param(params.externalCustomerId))
    }

    /// An identity from raw field bytes (absent: nil), validated as the token route validates
    /// them; the `token` subcommand uses this for its options.
    ///
    /// - Throws: `APIError` 401 when every field is absent or empty, 400 when one is malformed.
    public static func validated(email: [UInt8]?, phone: [UInt8]?, externalCustomerId: [UInt8]?) throws(APIError) -> ContactIdentity {
        let identity = ContactIdentity(
            email: try field(email, name: "email", limit: maxEmailBytes, check: isEmail),
            phone: try field(phone, name: "phone", limit: maxPhoneBytes, check: isPhone),
            externalCustomerId: try field(
                externalCustomerId, name: "external customer id", limit: maxExternalIdBytes, check: { _ in true }))
        guard identity.email != nil || identity.phone != nil || identity.externalCustomerId != nil else {
            throw .unauthenticated
        }
        return identity
    }

    /// One field: nil when absent or empty after trimming, else a validated string.
    ///
    /// Works on the raw bytes (this runs on every token request): trimming and the control
    /// character scan need no decoding, and one validating conversion makes the string.
    static func field(_ raw: [UInt8]?, name: String, limit: Int, check: (String) -> Bool) throws(APIError) -> String? {
        guard let raw else { return nil }
        // Space, tab, CR and LF around a value are dropped, as a web server's variable may carry them.
        let trimmed = ASCII.trimmed(raw[...])
        let (start, end) = (trimmed.startIndex, trimmed.endIndex)
        guard let value = String(validating: trimmed, as: UTF8.self) else {
            throw .invalidIdentity("The \(name) is not valid UTF-8.")
        }
        if value.isEmpty { return nil }
        for index in start..<end {
            let byte = raw[index]
            // C0 controls and DEL; C1 controls (U+0080–U+009F) are C2 80–C2 9F in UTF-8.
            if byte < 0x20 || byte == 0x7F || (byte == 0xC2 && index + 1 < end && (0x80...0x9F).contains(raw[index + 1])) {
                throw .invalidIdentity("The \(name) contains control characters.")
            }
        }
        if end - start > limit {
            throw .invalidIdentity("The \(name) is longer than \(limit) bytes.")
        }
        guard check(value) else {
            throw .invalidIdentity("The \(name) is malformed.")
        }
        return value
    }

    /// One `@` with text on both sides and no whitespace: enough to catch a wrong param mapping
    /// without second-guessing the address rules of the site's own login.
    static func isEmail(_ value: String) -> Bool {
        let utf8 = value.utf8
        var ats = 0
        var first = -1
        var asciiOnly = true
        for (offset, byte) in utf8.enumerated() {
            if byte == UInt8(ascii: "@") {
                ats += 1
                first = offset
            }
            if byte == 0x20 { return false }
            asciiOnly = asciiOnly && byte < 0x80
        }
        guard ats == 1, first > 0, first < utf8.count - 1 else { return false }
        // Non-ASCII addresses are rare; only they need the Unicode whitespace table.
        return asciiOnly || !value.unicodeScalars.contains { $0.properties.isWhitespace }
    }

    /// Digits with the usual punctuation of written phone numbers, and at least three digits.
    static func isPhone(_ value: String) -> Bool {
        var digits = 0
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits += 1
            case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: " "), UInt8(ascii: "("), UInt8(ascii: ")"),
                UInt8(ascii: "."):
                continue
            default: return false
            }
        }
        return digits >= 3
    }
}
