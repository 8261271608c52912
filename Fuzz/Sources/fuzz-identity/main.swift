import AppInbox
import FuzzSupport

// The identity params the web server passes: ContactIdentity.read over arbitrary bytes.
// Input: one byte whose low three bits say which of email, phone and external id are set, then
// their values separated by 0xFF. Values past the third repeat the params in turn (a web server
// that sends a param twice).

let params = IdentityParams()
let names = [params.email, params.phone, params.externalCustomerId]
let limits = [254, 32, 256]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = inputBytes(data, size)
    guard let presence = input.first else { return 0 }
    var values: [(name: String, value: [UInt8])] = []
    for (index, value) in fields(Array(input.dropFirst())).enumerated() where presence & (1 << (index % 3)) != 0 {
        values.append((names[index % 3], value))
    }
    let request = Request(
        param: { name in values.first { $0.name == name }?.value },
        occurrences: { name in values.count { $0.name == name } })

    let identity: ContactIdentity
    do {
        identity = try ContactIdentity.read(from: request, params: params)
    } catch {
        let repeated = names.contains { request.occurrences($0) > 1 }
        switch error.status {
        case 500: check(repeated, "500 without a repeated param")
        case 401:
            check(!repeated, "401 for a repeated param")
            // Nothing but whitespace in every value that is set.
            check(
                values.allSatisfy { $0.value.allSatisfy { [0x20, 0x09, 0x0D, 0x0A].contains($0) } },
                "401 although a value was set")
        case 400: check(!repeated, "400 for a repeated param")
        default: check(false, "status \(error.status)")
        }
        check(JSONValue.parse(error.response.body)?["error"]?.stringValue == error.code.rawValue, "error body")
        return 0
    }

    let fields = [identity.email, identity.phone, identity.externalCustomerId]
    check(fields.contains { $0 != nil }, "an identity without fields")
    for (index, field) in fields.enumerated() {
        guard let field else { continue }
        let raw = request.param(names[index]) ?? []
        let bytes = Array(field.utf8)
        check(!bytes.isEmpty && bytes.count <= limits[index], "\(names[index]) has \(bytes.count) bytes")
        check(containsBytes(raw, bytes), "\(names[index]) is not taken from its param")
        check(![0x20, 0x09, 0x0D, 0x0A].contains(bytes.first!) && ![0x20, 0x09, 0x0D, 0x0A].contains(bytes.last!), "not trimmed")
        for scalar in field.unicodeScalars {
            let value = scalar.value
            check(value >= 0x20 && !(0x7F...0x9F).contains(value), "control character in \(names[index]): \(escaped(bytes))")
        }
    }
    if let email = identity.email {
        check(email.utf8.count { $0 == UInt8(ascii: "@") } == 1, "email without exactly one @")
    }
    if let phone = identity.phone {
        check(phone.utf8.count { (0x30...0x39).contains($0) } >= 3, "phone with fewer than 3 digits")
    }

    // eSputnik's request body carries each field byte-exact, and nothing else.
    let body = JSONValue.parse(identity.upstreamBody)
    check(body != nil, "upstream body is not JSON: \(escaped(identity.upstreamBody))")
    check(sameBytes(body?["email"]?.stringValue, identity.email), "email in the upstream body")
    check(sameBytes(body?["phone"]?.stringValue, identity.phone), "phone in the upstream body")
    check(sameBytes(body?["externalCustomerId"]?.stringValue, identity.externalCustomerId), "external id in the upstream body")

    // The log's masked form never holds a whole field (one made of `*` can look like the mask).
    let masks: [(String?, (String) -> String)] = [
        (identity.email, IdentityMask.email), (identity.phone, IdentityMask.phone),
        (identity.externalCustomerId, IdentityMask.opaque),
    ]
    for (field, mask) in masks {
        guard let field, field.unicodeScalars.count >= 2, !field.utf8.contains(UInt8(ascii: "*")) else { continue }
        check(!containsBytes(Array(mask(field).utf8), Array(field.utf8)), "the mask shows \(escaped(field.utf8))")
    }
    _ = identity.masked

    // Equal by bytes, and so equally hashed, to the same identity read again.
    let again = try? ContactIdentity.read(from: request, params: params)
    check(again == identity && again?.hashValue == identity.hashValue, "reading twice differs")
    return 0
}
