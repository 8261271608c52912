/// One flag of the init call, e.g. `RECOMS=true` from `APP_INBOX_INIT_FLAGS`.
public struct InitFlag: Sendable, Equatable {
    /// The flag's name, a JavaScript identifier such as `RECOMS`.
    public var name: String
    /// The flag's value.
    public var value: Value

    /// A flag value as written in the variable: `true`/`false`, a whole number, or any other text.
    public enum Value: Sendable, Equatable {
        /// `true` or `false`.
        case bool(Bool)
        /// A whole number such as `10` or `-1`.
        case number(Int)
        /// Anything else, passed as a string.
        case string(String)
    }

    /// Creates a flag.
    public init(_ name: String, _ value: Value) {
        self.name = name
        self.value = value
    }

    /// Parses `NAME=value,NAME=value` (`APP_INBOX_INIT_FLAGS`); empty items are skipped.
    public static func parseList(_ text: String) -> Result<[InitFlag], InitFlagError> {
        var flags: [InitFlag] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let entry = ASCII.trimmed(String(item))
            if entry.isEmpty { continue }
            guard let equals = entry.firstIndex(of: "=") else {
                return .failure(InitFlagError("'\(entry)' is not NAME=value"))
            }
            let name = ASCII.trimmed(String(entry[..<equals]))
            let raw = ASCII.trimmed(String(entry[entry.index(after: equals)...]))
            guard isIdentifier(name) else {
                return .failure(
                    InitFlagError("'\(name)' is not a flag name (letters, digits and _, not starting with a digit)"))
            }
            guard name != "APP_INBOX" else {
                return .failure(InitFlagError("APP_INBOX is always true and cannot be set here"))
            }
            guard !flags.contains(where: { $0.name == name }) else {
                return .failure(InitFlagError("\(name) is given twice"))
            }
            guard !raw.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                return .failure(InitFlagError("the value of \(name) contains control characters"))
            }
            flags.append(InitFlag(name, value(raw)))
        }
        return .success(flags)
    }

    private static func value(_ raw: String) -> Value {
        switch raw {
        case "true": return .bool(true)
        case "false": return .bool(false)
        default:
            // Only plain decimal integers become numbers: "1e3" or "0x10" stay strings, as written.
            let digits = raw.hasPrefix("-") ? raw.dropFirst() : Substring(raw)
            if !digits.isEmpty, digits.count <= 15, digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
                let number = Int(raw)
            {
                return .number(number)
            }
            return .string(raw)
        }
    }

    private static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(0x30...0x39).contains(first) else { return false }
        return name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
                true
            default: false
            }
        }
    }
}

/// Why `APP_INBOX_INIT_FLAGS` could not be parsed.
public struct InitFlagError: Error, Sendable, Equatable {
    /// The problem, naming the offending item.
    public var message: String

    /// Creates an error.
    public init(_ message: String) { self.message = message }
}
