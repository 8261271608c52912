import Testing

@testable import AppInbox

@Suite("IdentityHasher")
struct IdentityHasherTests {
    @Test func theSameIdentityGivesTheSameKey() throws {
        let hasher = try IdentityHasher()
        let identity = ContactIdentity(email: "alice@example.com", phone: "+380501234567", externalCustomerId: "c-42")
        let first = try #require(hasher.key(for: identity))
        #expect(hasher.key(for: identity) == first)
        #expect(hasher.key(for: ContactIdentity(email: "alice@example.com", phone: "+380501234567", externalCustomerId: "c-42")) == first)
        var set: Set<IdentityKey> = [first]
        set.insert(try #require(hasher.key(for: identity)))
        #expect(set.count == 1)
    }

    @Test func aCopiedHasherKeepsItsSecret() throws {
        let hasher = try IdentityHasher()
        let copy = hasher
        let identity = ContactIdentity(email: "alice@example.com")
        #expect(copy.key(for: identity) == hasher.key(for: identity))
    }

    @Test func differentHashersGiveDifferentKeys() throws {
        let identity = ContactIdentity(email: "alice@example.com")
        let keys = try (0..<8).map { _ in try IdentityHasher().key(for: identity) }
        #expect(Set(keys).count == keys.count)
    }

    @Test func differentIdentitiesGiveDifferentKeys() throws {
        let hasher = try IdentityHasher()
        let identities = [
            ContactIdentity(email: "alice@example.com"), ContactIdentity(email: "bob@example.com"),
            ContactIdentity(email: "Alice@example.com"), ContactIdentity(email: "alice@example.com "),
            ContactIdentity(phone: "+380501234567"), ContactIdentity(phone: "+380501234568"),
            ContactIdentity(externalCustomerId: "1"), ContactIdentity(externalCustomerId: "2"),
            ContactIdentity(email: "alice@example.com", phone: "+380501234567"),
            ContactIdentity(email: "alice@example.com", externalCustomerId: "1"),
            ContactIdentity(email: "alice@example.com", phone: "+380501234567", externalCustomerId: "1"),
        ]
        let keys = identities.map(hasher.key(for:))
        #expect(Set(keys).count == identities.count)
    }

    @Test func theSameTextInDifferentFieldsGivesDifferentKeys() throws {
        let hasher = try IdentityHasher()
        let text = "12345"
        let email = hasher.key(for: ContactIdentity(email: text))
        let phone = hasher.key(for: ContactIdentity(phone: text))
        let external = hasher.key(for: ContactIdentity(externalCustomerId: text))
        #expect(email != external)
        #expect(email != phone)
        #expect(phone != external)
    }

    @Test func fieldBoundariesCannotBeShiftedToCollide() throws {
        let hasher = try IdentityHasher()
        let pairs: [(ContactIdentity, ContactIdentity)] = [
            (ContactIdentity(email: "ab", phone: "c"), ContactIdentity(email: "a", phone: "bc")),
            (ContactIdentity(phone: "12", externalCustomerId: "3"), ContactIdentity(phone: "1", externalCustomerId: "23")),
            (ContactIdentity(email: "a", externalCustomerId: "b"), ContactIdentity(email: "ab", externalCustomerId: "")),
            (ContactIdentity(email: "a", externalCustomerId: "b"), ContactIdentity(email: "ab")),
            // A value that looks like the encoding of the next field.
            (ContactIdentity(email: "a", phone: "b"), ContactIdentity(email: "ap:b")),
            (ContactIdentity(email: "a", phone: "b"), ContactIdentity(email: "ap1:b")),
            (ContactIdentity(email: "a", externalCustomerId: "b"), ContactIdentity(email: "ax1:b")),
            (ContactIdentity(email: "x", phone: "y"), ContactIdentity(email: "x1:yp1:y")),
            (ContactIdentity(email: "1:a"), ContactIdentity(email: "a", phone: nil, externalCustomerId: nil)),
            (ContactIdentity(email: ""), ContactIdentity(phone: "")),
            (ContactIdentity(email: ""), ContactIdentity()),
        ]
        for (left, right) in pairs {
            #expect(hasher.key(for: left) != hasher.key(for: right), "\(left) vs \(right)")
        }
    }

    @Test func multiByteTextIsKeyedByItsBytes() throws {
        let hasher = try IdentityHasher()
        let precomposed = hasher.key(for: ContactIdentity(externalCustomerId: "caf\u{E9}"))
        let again = hasher.key(for: ContactIdentity(externalCustomerId: "caf\u{E9}"))
        #expect(precomposed == again)
        #expect(hasher.key(for: ContactIdentity(externalCustomerId: "cafe")) != precomposed)
        #expect(hasher.key(for: ContactIdentity(email: "пошта@приклад.укр")) != hasher.key(for: ContactIdentity(email: "пошта@приклад.ук")))
    }
}

@Suite("IdentityKeyer")
struct IdentityKeyerTests {
    @Test func aWorkersKeyerGivesTheHashersKeysForEveryIdentity() throws {
        let hasher = try IdentityHasher()
        let keyer = try hasher.makeKeyer()
        let identities = [
            ContactIdentity(email: "alice@example.com"), ContactIdentity(phone: "+380501234567"),
            ContactIdentity(email: "a@b.c", phone: "123", externalCustomerId: "x"),
            ContactIdentity(externalCustomerId: String(repeating: "é", count: 128)),
        ]
        for identity in identities {
            #expect(keyer.key(for: identity) == hasher.key(for: identity))
            #expect(keyer.key(for: identity) == keyer.key(for: identity))  // the context resets per call
        }
        #expect(keyer.key(for: identities[0]) != keyer.key(for: identities[1]))
    }
}
