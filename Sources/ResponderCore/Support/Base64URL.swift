/// Base64url without padding (RFC 4648 §5), as JWS and JWK use it (RFC 7515 §2, appendix C).
public enum Base64URL {
    /// The 6-bit value of each byte of the alphabet; 0xFF for bytes outside it.
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, byte) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8.enumerated() {
            table[Int(byte)] = UInt8(value)
        }
        return table
    }()

    /// Decodes strictly: no padding, no whitespace, no `+` or `/`, and the unused low bits of the
    /// last character zero, so that one byte string has exactly one spelling; nil otherwise.
    /// (Concrete, not generic over collections: a generic public function runs unspecialized
    /// from other modules, a witness call per byte, and tokens are decoded on every request.)
    public static func decode(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        guard text.count % 4 != 1 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(text.count * 3 / 4)
        var buffer: UInt32 = 0
        var bits = 0
        for byte in text {
            let value = values[Int(byte)]
            guard value != 0xFF else { return nil }
            buffer = buffer << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        guard buffer & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
        return output
    }

    /// Decodes base64url text strictly, as `decode(_:)` on its UTF-8 bytes.
    public static func decode(_ text: String) -> [UInt8]? {
        decode(Array(text.utf8)[...])
    }

    /// Encodes bytes without padding: standard base64 with `-` and `_` for `+` and `/`.
    public static func encode(_ bytes: [UInt8]) -> String {
        let standard = Base64.encode(bytes).utf8.compactMap { byte -> UInt8? in
            switch byte {
            case UInt8(ascii: "+"): UInt8(ascii: "-")
            case UInt8(ascii: "/"): UInt8(ascii: "_")
            case UInt8(ascii: "="): nil
            default: byte
            }
        }
        return String(decoding: standard, as: UTF8.self)
    }
}
