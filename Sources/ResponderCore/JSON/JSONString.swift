/// Encodes text as a JSON string literal that is also safe to embed in HTML and JavaScript.
///
/// Besides JSON's required escapes, `<`, `>`, `&`, U+2028 and U+2029 are written as `\uXXXX`:
/// a token containing `</script>` or a line separator then cannot end a `<script>` element or a
/// JavaScript string, wherever a client pastes it.
public enum JSONString {
    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `"text"`, escaped, to `output`.
    ///
    /// Works on UTF-8 bytes: runs of bytes that need no escape are copied whole, which keeps a
    /// token answer to one pass over the token and no allocation beyond `output`'s growth.
    public static func append(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var runStart = 0
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                let escape: UInt8?  // the letter after a backslash, or 0 for a \u escape
                var width = 1
                switch byte {
                case 0x22: escape = UInt8(ascii: "\"")
                case 0x5C: escape = UInt8(ascii: "\\")
                case 0x0A: escape = UInt8(ascii: "n")
                case 0x0D: escape = UInt8(ascii: "r")
                case 0x09: escape = UInt8(ascii: "t")
                case 0x00..<0x20, 0x7F, 0x3C, 0x3E, 0x26: escape = 0
                case 0xE2
                where index + 2 < bytes.count && bytes[index + 1] == 0x80
                    && (bytes[index + 2] == 0xA8 || bytes[index + 2] == 0xA9):
                    escape = 0  // U+2028, U+2029: line terminators in JavaScript strings
                    width = 3
                default: escape = nil
                }
                guard let escape else {
                    index += 1
                    continue
                }
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                if escape == 0 {
                    let value: UInt16 = width == 3 ? (bytes[index + 2] == 0xA8 ? 0x2028 : 0x2029) : UInt16(byte)
                    appendUnicodeEscape(value, to: &output)
                } else {
                    output.append(0x5C)
                    output.append(escape)
                }
                index += width
                runStart = index
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
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
