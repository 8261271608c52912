/// A parsed `application/x-www-form-urlencoded` query string.
public struct Query: Sendable, Equatable {
    /// The decoded pairs in their order; a name without `=` has an empty value.
    public let items: [(name: String, value: String)]

    /// Parses a raw query string (without the `?`). Split by byte: as Characters, `&` or `=`
    /// followed by a combining mark would not be found, and pairs would run together.
    public init(_ raw: String) {
        items = raw.utf8.split(separator: UInt8(ascii: "&")).map { pair in
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            return (Query.decode(parts[0]), parts.count > 1 ? Query.decode(parts[1]) : "")
        }
    }

    /// The first value for `name`, if any; names compare by bytes.
    public subscript(name: String) -> String? {
        items.first { $0.name.utf8.elementsEqual(name.utf8) }?.value
    }

    public static func == (lhs: Query, rhs: Query) -> Bool {
        lhs.items.elementsEqual(rhs.items) { $0.name == $1.name && $0.value == $1.value }
    }

    /// Percent-decodes a component, `+` as space; a malformed escape is kept as written.
    public static func decode(_ component: Substring) -> String {
        decode(component.utf8[...])
    }

    /// Percent-decodes the bytes of a component.
    static func decode(_ component: Substring.UTF8View.SubSequence) -> String {
        let bytes = Array(component)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                output.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), index + 2 < bytes.count,
                let high = Hex.value(of: bytes[index + 1]), let low = Hex.value(of: bytes[index + 2])
            {
                output.append(high << 4 | low)
                index += 2
            } else {
                output.append(byte)
            }
            index += 1
        }
        return String(decoding: output, as: UTF8.self)
    }
}
