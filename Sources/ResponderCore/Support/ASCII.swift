/// The byte classes that config files, params and headers are parsed by.
public enum ASCII {
    /// Letters, digits and `_`: what variable and param names are made of.
    public static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
            true
        default: false
        }
    }

    /// Space, tab, CR and LF: what surrounds values in headers and files.
    public static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A
    }

    /// `bytes` without leading and trailing spaces, tabs, CRs and LFs (`isSpace`), as headers,
    /// params and secret files may carry them.
    public static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, isSpace(bytes[start]) { start += 1 }
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        return bytes[start..<end]
    }

    /// `text` without leading and trailing spaces, tabs, CRs and LFs (by scalar, so a combining
    /// mark after a space never hides the space).
    public static func trimmed(_ text: String) -> String {
        let whitespace: Set<Unicode.Scalar> = [" ", "\t", "\r", "\n"]
        var scalars = Substring(text).unicodeScalars
        while let first = scalars.first, whitespace.contains(first) { scalars.removeFirst() }
        while let last = scalars.last, whitespace.contains(last) { scalars.removeLast() }
        return String(scalars)
    }
}
