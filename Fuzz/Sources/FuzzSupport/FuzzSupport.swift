import AppInbox
import Glibc

/// Stops the run with a message when an invariant fails. Not `assert`: release builds drop it,
/// and the fuzz targets are built in release mode for speed.
public func check(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    guard !condition else { return }
    let text = "invariant failed at \(file):\(line): \(message())"
    // Through the sanitizer, whose reports still reach libFuzzer's log under -close_fd_mask=2.
    if let report = reportLine { report(text) } else { Log.writeStderr(Array((text + "\n").utf8)) }
    abort()
}

/// `__sanitizer_report_error_summary`, which writes a line where the crash report goes.
private let reportLine: (@convention(c) (UnsafePointer<CChar>) -> Void)? = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__sanitizer_report_error_summary") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (UnsafePointer<CChar>) -> Void).self)
}()

/// The input as an array (libFuzzer may pass a null pointer for the empty input).
public func inputBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// Splits the input into fields at 0xFF, a byte that never occurs in UTF-8: fields can still hold
/// every other byte, invalid UTF-8 included, and seeds stay readable text.
public func fields(_ bytes: [UInt8]) -> [[UInt8]] {
    bytes.split(separator: 0xFF, omittingEmptySubsequences: false).map(Array.init)
}

/// Printable bytes for a failure message: ASCII as is, everything else as \xNN.
public func escaped<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    var text = ""
    for byte in bytes {
        if byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\\") {
            text.unicodeScalars.append(Unicode.Scalar(byte))
        } else {
            let hex = Array("0123456789abcdef".unicodeScalars)
            text += "\\x" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 0xF)])
        }
    }
    return text
}

/// Whether `haystack` contains `needle` as a run of bytes.
public func containsBytes(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty else { return true }
    guard haystack.count >= needle.count else { return false }
    for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
        if haystack[start..<start + needle.count].elementsEqual(needle) { return true }
    }
    return false
}

/// Serialises a parsed JSON value with sorted keys, so equal documents give equal bytes.
/// Nil when a number has no JSON form (the parser turns `1e999` into infinity).
public func serialize(_ value: JSONValue) -> [UInt8]? {
    var output: [UInt8] = []
    return append(value, to: &output) ? output : nil
}

private func append(_ value: JSONValue, to output: inout [UInt8]) -> Bool {
    switch value {
    case .null: output += "null".utf8
    case .bool(let flag): output += (flag ? "true" : "false").utf8
    case .number(let number):
        guard number.isFinite else { return false }
        output += number.description.utf8
    case .string(let text): JSONString.append(text, to: &output)
    case .array(let elements):
        output.append(UInt8(ascii: "["))
        for (index, element) in elements.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            guard append(element, to: &output) else { return false }
        }
        output.append(UInt8(ascii: "]"))
    case .object(let members):
        output.append(UInt8(ascii: "{"))
        let sorted = members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        for (index, member) in sorted.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            JSONString.append(member.key, to: &output)
            output.append(UInt8(ascii: ":"))
            guard append(member.value, to: &output) else { return false }
        }
        output.append(UInt8(ascii: "}"))
    }
    return true
}

/// Whether two strings hold the same bytes (`==` on String is canonical equivalence).
public func sameBytes(_ lhs: String?, _ rhs: String?) -> Bool {
    switch (lhs, rhs) {
    case (nil, nil): true
    case (let lhs?, let rhs?): lhs.utf8.elementsEqual(rhs.utf8)
    default: false
    }
}
