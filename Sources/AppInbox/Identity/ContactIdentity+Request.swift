extension ContactIdentity {
    /// Byte limits per field, after trimming (DESIGN.md).
    static let maxEmailBytes = 254
    static let maxPhoneBytes = 32
    static let maxExternalIdBytes = 256

    /// Reads the identity that the web server validated, from the configured params only:
    /// never from the query string, the body or a header the client chose.
    ///
    /// - Throws: `APIError` 401 when no identity param is set, 400 when one is malformed.
    public static func read(from request: Request, params: IdentityParams) throws(APIError) -> ContactIdentity {
        let identity = ContactIdentity(
            email: try field(request.param(params.email), name: "email", limit: maxEmailBytes, check: isEmail),
            phone: try field(request.param(params.phone), name: "phone", limit: maxPhoneBytes, check: isPhone),
            externalCustomerId: try field(
                request.param(params.externalCustomerId), name: "external customer id", limit: maxExternalIdBytes,
                check: { _ in true }))
        guard identity.email != nil || identity.phone != nil || identity.externalCustomerId != nil else {
            throw .unauthenticated
        }
        return identity
    }

    /// One field: nil when absent or empty after trimming, else a validated string.
    static func field(_ raw: [UInt8]?, name: String, limit: Int, check: (String) -> Bool) throws(APIError) -> String? {
        guard let raw else { return nil }
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw .invalidIdentity("The \(name) is not valid UTF-8.")
        }
        let value = Config.trimmed(text)
        if value.isEmpty { return nil }
        if value.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
            throw .invalidIdentity("The \(name) contains control characters.")
        }
        if value.utf8.count > limit {
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
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty
            && !value.unicodeScalars.contains { $0.properties.isWhitespace }
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
