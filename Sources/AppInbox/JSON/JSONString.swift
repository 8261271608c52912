/// Encodes text as a JSON string literal that is also safe to embed in HTML and JavaScript.
///
/// Besides JSON's required escapes, `<`, `>`, `&`, U+2028 and U+2029 are written as `\uXXXX`:
/// a token containing `</script>` or a line separator then cannot end a `<script>` element or a
/// JavaScript string, wherever a client pastes it.
public enum JSONString {
    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `"text"`, escaped, to `output`.
    public static func append(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x22: output.append(contentsOf: [0x5C, 0x22])  // \"
            case 0x5C: output.append(contentsOf: [0x5C, 0x5C])  // \\
            case 0x0A: output.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x00..<0x20, 0x7F, 0x3C, 0x3E, 0x26, 0x2028, 0x2029:
                appendUnicodeEscape(UInt16(scalar.value), to: &output)
            default:
                output.append(contentsOf: String(scalar).utf8)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    /// Returns `"text"` escaped, as a String.
    public static func encode(_ text: String) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count + 2)
        append(text, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    private static func appendUnicodeEscape(_ value: UInt16, to output: inout [UInt8]) {
        output.append(contentsOf: [0x5C, UInt8(ascii: "u")])
        for shift in stride(from: 12, through: 0, by: -4) {
            output.append(hex[Int((value >> UInt16(shift)) & 0xF)])
        }
    }
}
