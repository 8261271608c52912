/// The signed-in user as eSputnik knows them: any of email, phone and the site's customer id.
///
/// Equal and hashed by the UTF-8 bytes of each field, never by `String` equality: Swift compares
/// strings by Unicode canonical equivalence, so `"josé"` (NFC) equals `"jose\u{301}"` (NFD) and
/// `"K"` equals KELVIN SIGN, yet eSputnik sees different bytes and so different contacts.
/// Single flight keys on this type; a `String`-equal key once handed one user another's token
/// (docs/PITFALLS.md #7).
public struct ContactIdentity: Sendable, Hashable {
    /// The user's email, if the web server passed one.
    public var email: String?
    /// The user's phone number, if passed.
    public var phone: String?
    /// The site's own customer id, if passed.
    public var externalCustomerId: String?

    /// Creates an identity; at least one field should be set.
    public init(email: String? = nil, phone: String? = nil, externalCustomerId: String? = nil) {
        self.email = email
        self.phone = phone
        self.externalCustomerId = externalCustomerId
    }

    public static func == (lhs: ContactIdentity, rhs: ContactIdentity) -> Bool {
        sameBytes(lhs.email, rhs.email) && sameBytes(lhs.phone, rhs.phone)
            && sameBytes(lhs.externalCustomerId, rhs.externalCustomerId)
    }

    public func hash(into hasher: inout Hasher) {
        for field in [email, phone, externalCustomerId] {
            guard let field else {
                hasher.combine(0 as UInt8)
                continue
            }
            hasher.combine(1 as UInt8)
            hasher.combine(field.utf8.count)
            for byte in field.utf8 { hasher.combine(byte) }
        }
    }

    private static func sameBytes(_ lhs: String?, _ rhs: String?) -> Bool {
        switch (lhs, rhs) {
        case (nil, nil): true
        case (let lhs?, let rhs?): lhs.utf8.elementsEqual(rhs.utf8)
        default: false
        }
    }

    /// The JSON body of eSputnik's token request, with only the fields present.
    public var upstreamBody: [UInt8] {
        var body: [UInt8] = [UInt8(ascii: "{")]
        for (name, value) in [("email", email), ("phone", phone), ("externalCustomerId", externalCustomerId)] {
            guard let value else { continue }
            if body.count > 1 { body.append(UInt8(ascii: ",")) }
            JSONString.append(name, to: &body)
            body.append(UInt8(ascii: ":"))
            JSONString.append(value, to: &body)
        }
        body.append(UInt8(ascii: "}"))
        return body
    }

    /// A form safe for logs: `a***@example.com`, `+38***67`, `c***`.
    public var masked: String {
        var parts: [String] = []
        if let email { parts.append("email=" + IdentityMask.email(email)) }
        if let phone { parts.append("phone=" + IdentityMask.phone(phone)) }
        if let externalCustomerId { parts.append("external_id=" + IdentityMask.opaque(externalCustomerId)) }
        return parts.joined(separator: ",")
    }
}

/// Masks identities for logs: enough to tell users apart while debugging, not enough to name them.
public enum IdentityMask {
    /// `alice@example.com` → `a***@example.com`.
    public static func email(_ email: String) -> String {
        // By UTF-8 offsets: this runs for every logged request, and Character-wise slicing
        // (grapheme breaking) cost more than the rest of the log line.
        guard let at = email.utf8.lastIndex(of: UInt8(ascii: "@")) else { return opaque(email) }
        return opaque(email) + String(email[at...])
    }

    /// `+380501234567` → `+38***67`.
    public static func phone(_ phone: String) -> String {
        guard phone.count > 6 else { return "***" }
        return String(phone.prefix(3)) + "***" + String(phone.suffix(2))
    }

    /// `customer-42` → `c***`.
    public static func opaque(_ value: String) -> String {
        guard let first = value.unicodeScalars.first else { return "***" }
        return String(first) + "***"
    }
}
