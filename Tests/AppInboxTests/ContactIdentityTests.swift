import Testing

@testable import AppInbox

/// Reads an identity from string params with the default param names.
private func read(
    _ params: [String: String], names: IdentityParams = IdentityParams()
) throws(APIError)
    -> ContactIdentity
{
    try ContactIdentity.read(from: Request(params: params), params: names)
}

/// The error `read` throws, or nil when it succeeds.
private func readError(_ params: [String: String], names: IdentityParams = IdentityParams()) -> APIError? {
    do {
        _ = try read(params, names: names)
        return nil
    } catch {
        return error
    }
}

/// Reads an identity whose email param holds raw bytes.
private func readRawEmail(_ bytes: [UInt8]) -> Result<ContactIdentity, APIError> {
    let request = Request(param: { $0 == "INBOX_EMAIL" ? bytes : nil })
    return Result { () throws(APIError) in try ContactIdentity.read(from: request, params: IdentityParams()) }
}

@Suite("ContactIdentity.read")
struct ContactIdentityReadTests {
    @Test func readsEachFieldFromItsDefaultParam() throws {
        let identity = try read([
            "INBOX_EMAIL": "alice@example.com", "INBOX_PHONE": "+380501234567",
            "INBOX_EXTERNAL_CUSTOMER_ID": "customer-42",
        ])
        #expect(identity == ContactIdentity(email: "alice@example.com", phone: "+380501234567", externalCustomerId: "customer-42"))
    }

    @Test func anySingleFieldIsEnough() throws {
        #expect(try read(["INBOX_EMAIL": "a@b.c"]) == ContactIdentity(email: "a@b.c"))
        #expect(try read(["INBOX_PHONE": "+38 (050) 123-45-67"]) == ContactIdentity(phone: "+38 (050) 123-45-67"))
        #expect(try read(["INBOX_EXTERNAL_CUSTOMER_ID": "42"]) == ContactIdentity(externalCustomerId: "42"))
    }

    @Test func readsFromCustomParamNames() throws {
        var names = IdentityParams()
        names.email = "REMOTE_USER"
        names.phone = "AUTH_PHONE"
        names.externalCustomerId = "AUTH_ID"
        let params = [
            "REMOTE_USER": "bob@example.org", "AUTH_PHONE": "12345", "AUTH_ID": "u-1",
            "INBOX_EMAIL": "ignored@example.com",
        ]
        #expect(try read(params, names: names) == ContactIdentity(email: "bob@example.org", phone: "12345", externalCustomerId: "u-1"))
        // The default names are no longer consulted.
        #expect(readError(["INBOX_EMAIL": "ignored@example.com"], names: names) == .unauthenticated)
    }

    @Test func trimsSpacesTabsAndLineEnds() throws {
        let identity = try read([
            "INBOX_EMAIL": " \t alice@example.com\t ", "INBOX_PHONE": "\t12345 ", "INBOX_EXTERNAL_CUSTOMER_ID": " id \r\n",
        ])
        #expect(identity == ContactIdentity(email: "alice@example.com", phone: "12345", externalCustomerId: "id"))
    }

    @Test(arguments: ["", " ", "\t", " \t  \t"])
    func emptyOrBlankValuesAreAbsent(_ blank: String) throws {
        #expect(try read(["INBOX_EMAIL": blank, "INBOX_PHONE": "12345"]) == ContactIdentity(phone: "12345"))
        #expect(readError(["INBOX_EMAIL": blank, "INBOX_PHONE": blank, "INBOX_EXTERNAL_CUSTOMER_ID": blank]) == .unauthenticated)
    }

    @Test func noIdentityIsUnauthenticated() {
        let error = readError([:])
        #expect(error == .unauthenticated)
        #expect(error?.status == 401)
        #expect(error?.code.rawValue == "unauthenticated")
    }

    @Test func neverReadsTheQueryStringBodyOrHeaders() {
        let request = Request(
            params: [
                "QUERY_STRING": "email=a@b.c&INBOX_EMAIL=a@b.c", "REQUEST_URI": "/app-inbox/token?email=a@b.c",
                "REQUEST_METHOD": "POST", "CONTENT_TYPE": "application/json", "HTTP_INBOX_EMAIL": "a@b.c",
                "HTTP_X_EMAIL": "a@b.c",
            ],
            body: Array(#"{"email":"a@b.c","phone":"12345","externalCustomerId":"x","INBOX_EMAIL":"a@b.c"}"#.utf8))
        #expect(throws: APIError.unauthenticated) {
            try ContactIdentity.read(from: request, params: IdentityParams())
        }
    }

    @Test func invalidUTF8IsInvalidIdentity() throws {
        for bytes: [UInt8] in [[0x61, 0xFF], [0xC3], [0x61, 0x40, 0xED, 0xA0, 0x80]] {
            guard case .failure(let error) = readRawEmail(bytes) else {
                Issue.record("accepted \(bytes)")
                continue
            }
            #expect(error.status == 400)
            #expect(error.code.rawValue == "invalid_identity")
        }
        #expect(try readRawEmail(Array("é@example.com".utf8)).get().email == "é@example.com")
    }

    @Test(arguments: ["a\u{01}@b.c", "a\n@b.c", "a@b\u{7F}.c", "a\u{85}@b.c", "a@b.c\u{00}x", "a\u{1B}[31m@b.c"])
    func controlCharactersInsideAreInvalid(_ email: String) {
        let error = readError(["INBOX_EMAIL": email])
        #expect(error?.status == 400)
        #expect(error?.code.rawValue == "invalid_identity")
    }

    @Test func controlCharactersInOtherFieldsAreInvalid() {
        #expect(readError(["INBOX_PHONE": "123\u{01}45"])?.status == 400)
        #expect(readError(["INBOX_EXTERNAL_CUSTOMER_ID": "id\nX-Injected: 1"])?.status == 400)
        #expect(readError(["INBOX_EXTERNAL_CUSTOMER_ID": "id\u{85}"])?.status == 400)
    }

    @Test func malformedFieldIsNotIgnoredWhenAnotherIsValid() {
        let error = readError(["INBOX_EMAIL": "alice@example.com", "INBOX_PHONE": "call me"])
        #expect(error?.status == 400)
        #expect(error?.code.rawValue == "invalid_identity")
    }

    @Test func lengthLimitsInBytes() throws {
        let domain = "@example.com"
        let email254 = String(repeating: "a", count: 254 - domain.utf8.count) + domain
        #expect(email254.utf8.count == 254)
        #expect(try read(["INBOX_EMAIL": email254]).email == email254)
        #expect(readError(["INBOX_EMAIL": "a" + email254])?.code.rawValue == "invalid_identity")

        let phone32 = String(repeating: "1", count: 32)
        #expect(try read(["INBOX_PHONE": phone32]).phone == phone32)
        #expect(readError(["INBOX_PHONE": phone32 + "1"])?.status == 400)

        let id256 = String(repeating: "x", count: 256)
        #expect(try read(["INBOX_EXTERNAL_CUSTOMER_ID": id256]).externalCustomerId == id256)
        #expect(readError(["INBOX_EXTERNAL_CUSTOMER_ID": id256 + "x"])?.status == 400)

        // Bytes, not characters: 129 two-byte characters are 258 bytes.
        #expect(try read(["INBOX_EXTERNAL_CUSTOMER_ID": String(repeating: "é", count: 128)]).externalCustomerId != nil)
        #expect(readError(["INBOX_EXTERNAL_CUSTOMER_ID": String(repeating: "é", count: 129)])?.status == 400)
    }

    @Test func limitsApplyAfterTrimming() throws {
        let phone32 = String(repeating: "1", count: 32)
        #expect(try read(["INBOX_PHONE": "  " + phone32 + "\t"]).phone == phone32)
    }

    @Test(arguments: ["alice.example.com", "a@b@c.d", "@example.com", "alice@", "@", "al ice@example.com", "alice@exa mple.com"])
    func malformedEmailsAreInvalid(_ email: String) {
        let error = readError(["INBOX_EMAIL": email])
        #expect(error?.status == 400)
        #expect(error?.code.rawValue == "invalid_identity")
    }

    @Test(arguments: ["12a45", "call me", "12", "+1-2", "()-+.", "+380\u{FF10}50"])
    func malformedPhonesAreInvalid(_ phone: String) {
        let error = readError(["INBOX_PHONE": phone])
        #expect(error?.status == 400)
        #expect(error?.code.rawValue == "invalid_identity")
    }

    @Test(arguments: ["123", "+380501234567", "+38 (050) 123-45-67", "050.123.45.67"])
    func writtenPhoneNumbersAreAccepted(_ phone: String) throws {
        #expect(try read(["INBOX_PHONE": phone]).phone == phone)
    }

    @Test func invalidIdentityAnswerIsJSONWithoutTheValue() throws {
        let error = try #require(readError(["INBOX_EMAIL": "secret-value-without-at"]))
        let response = error.response
        #expect(response.status == 400)
        let json = try #require(JSONValue.parse(response.body))
        #expect(json["error"] == .string("invalid_identity"))
        #expect(!String(decoding: response.body, as: UTF8.self).contains("secret-value"))
    }
}

@Suite("ContactIdentity.upstreamBody and masked")
struct ContactIdentityOutputTests {
    @Test func upstreamBodyHasOnlyPresentFields() {
        #expect(String(decoding: ContactIdentity(email: "a@b.c").upstreamBody, as: UTF8.self) == #"{"email":"a@b.c"}"#)
        #expect(String(decoding: ContactIdentity(phone: "12345").upstreamBody, as: UTF8.self) == #"{"phone":"12345"}"#)
        #expect(
            String(decoding: ContactIdentity(externalCustomerId: "42").upstreamBody, as: UTF8.self)
                == #"{"externalCustomerId":"42"}"#)
        let all = ContactIdentity(email: "a@b.c", phone: "12345", externalCustomerId: "42")
        #expect(
            String(decoding: all.upstreamBody, as: UTF8.self)
                == #"{"email":"a@b.c","phone":"12345","externalCustomerId":"42"}"#)
    }

    @Test func upstreamBodyIsEscapedJSON() throws {
        let identity = ContactIdentity(email: #"o"neil\x@example.com"#, externalCustomerId: "</script>\u{2028}\"},{\"phone\":\"1")
        let json = try #require(JSONValue.parse(identity.upstreamBody))
        #expect(json == .object(["email": .string(identity.email!), "externalCustomerId": .string(identity.externalCustomerId!)]))
        #expect(json["phone"] == nil)
    }

    @Test func upstreamBodyFromARequest() throws {
        let identity = try read(["INBOX_PHONE": " +380501234567 ", "INBOX_EMAIL": ""])
        #expect(String(decoding: identity.upstreamBody, as: UTF8.self) == #"{"phone":"+380501234567"}"#)
    }

    @Test func maskedHidesLocalPartAndPhone() {
        let identity = ContactIdentity(email: "alice.smith@example.com", phone: "+380501234567", externalCustomerId: "customer-42")
        let masked = identity.masked
        #expect(masked.contains("a***@example.com"))
        #expect(!masked.contains("alice"))
        #expect(!masked.contains("lice.smith"))
        #expect(!masked.contains("+380501234567"))
        #expect(!masked.contains("0501234"))
        #expect(!masked.contains("customer-42"))
        #expect(!masked.contains("ustomer"))
    }

    @Test func maskedShortPhoneShowsNothing() {
        #expect(!ContactIdentity(phone: "12345").masked.contains("12345"))
        #expect(!ContactIdentity(phone: "123").masked.contains("123"))
    }

    @Test func maskedListsOnlyPresentFields() {
        #expect(ContactIdentity(externalCustomerId: "x").masked == "external_id=x***")
        #expect(ContactIdentity(email: "bob@example.org").masked == "email=b***@example.org")
    }
}

@Suite("ContactIdentity equality")
struct ContactIdentityEqualityTests {
    /// Swift's `String` equality is canonical equivalence; identities must compare by bytes.
    @Test func comparesAndHashesByBytes() {
        let nfc = ContactIdentity(email: "jos\u{E9}@example.com")
        let nfd = ContactIdentity(email: "jose\u{301}@example.com")
        #expect(nfc.email == nfd.email)
        #expect(nfc != nfd)
        #expect(Set([nfc, nfd]).count == 2)
        #expect(ContactIdentity(externalCustomerId: "K-1") != ContactIdentity(externalCustomerId: "\u{212A}-1"))
        #expect(nfc == ContactIdentity(email: "jos\u{E9}@example.com"))
        #expect(Set([nfc, ContactIdentity(email: "jos\u{E9}@example.com")]).count == 1)
    }

    @Test func fieldsDoNotStandInForEachOther() {
        #expect(ContactIdentity(email: "a@b.c") != ContactIdentity(externalCustomerId: "a@b.c"))
        #expect(ContactIdentity(phone: "123") != ContactIdentity(phone: "123", externalCustomerId: "123"))
    }

    /// What eSputnik receives is the exact bytes the web server passed: never normalised.
    @Test func upstreamBodyKeepsTheBytes() throws {
        let identity = try ContactIdentity.read(
            from: Request(params: ["INBOX_EMAIL": "jose\u{301}@example.com"]), params: IdentityParams())
        #expect(identity.upstreamBody == Array(#"{"email":"jose\#u{301}@example.com"}"#.utf8))
    }
}
