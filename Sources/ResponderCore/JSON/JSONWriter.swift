/// A minimal streaming JSON writer, for documents built field by field such as `status` (a
/// class, so nested closures can write to the same writer without overlapping mutable accesses).
public final class JSONWriter {
    /// The document so far.
    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    /// An empty document.
    public init() {}

    /// `{`, what `body` writes, `}`.
    public func object(_ body: () -> Void) {
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
        body()
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    /// One `"name":` and what `value` writes.
    public func field(_ name: String, _ value: () -> Void) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        JSONString.append(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        value()
        needsComma = true
    }

    /// A JSON string, escaped.
    public func string(_ text: String) { JSONString.append(text, to: &bytes) }
    /// A whole number.
    public func number(_ value: Int) { bytes.append(contentsOf: String(value).utf8) }
    /// A number (Swift's shortest round-tripping form).
    public func number(_ value: Double) { bytes.append(contentsOf: String(value).utf8) }
    /// `null`.
    public func null() { bytes.append(contentsOf: "null".utf8) }
    /// `true` or `false`.
    public func bool(_ value: Bool) { bytes.append(contentsOf: (value ? "true" : "false").utf8) }
}
