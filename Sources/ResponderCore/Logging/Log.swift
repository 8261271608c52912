import Glibc

/// Severity of a log line, most severe first.
public enum LogLevel: String, Sendable, Comparable {
    case error, warn, info, debug

    private var rank: Int {
        switch self {
        case .error: 0
        case .warn: 1
        case .info: 2
        case .debug: 3
        }
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rank < rhs.rank }
}

/// How each log line is written.
public enum LogFormat: String, Sendable {
    /// `2026-01-01T00:00:00.000Z info request route=token status=200`
    case text
    /// One JSON object per line.
    case json
}

/// One line per event on stderr. Callers pass identities already masked; the API key is never
/// handed to the log at all, so no level can print it.
public struct Log: Sendable {
    /// The least severe level written.
    public var level: LogLevel
    /// Text or JSON lines.
    public var format: LogFormat

    /// Creates a logger writing to stderr.
    public init(level: LogLevel = .info, format: LogFormat = .text) {
        self.level = level
        self.format = format
    }

    /// Whether lines of `level` are written; check before building expensive fields.
    public func enabled(_ level: LogLevel) -> Bool { level <= self.level }

    public func error(_ event: String, _ fields: KeyValuePairs<String, String> = [:]) { write(.error, event, fields) }
    public func warn(_ event: String, _ fields: KeyValuePairs<String, String> = [:]) { write(.warn, event, fields) }
    public func info(_ event: String, _ fields: KeyValuePairs<String, String> = [:]) { write(.info, event, fields) }
    public func debug(_ event: String, _ fields: KeyValuePairs<String, String> = [:]) { write(.debug, event, fields) }

    /// Writes one line if `level` is enabled.
    public func write(_ level: LogLevel, _ event: String, _ fields: KeyValuePairs<String, String>) {
        guard enabled(level) else { return }
        var line: [UInt8] = []
        line.reserveCapacity(160)
        switch format {
        case .text:
            Self.appendTimestamp(to: &line)
            line.append(UInt8(ascii: " "))
            line.append(contentsOf: level.rawValue.utf8)
            line.append(UInt8(ascii: " "))
            line.append(contentsOf: event.utf8)
            for (name, value) in fields {
                line.append(UInt8(ascii: " "))
                line.append(contentsOf: name.utf8)
                line.append(UInt8(ascii: "="))
                Self.appendTextValue(value, to: &line)
            }
        case .json:
            line.append(contentsOf: #"{"ts":""#.utf8)
            Self.appendTimestamp(to: &line)
            line.append(contentsOf: #"","level":""#.utf8)
            line.append(contentsOf: level.rawValue.utf8)
            line.append(contentsOf: #"","event":"#.utf8)
            JSONString.append(event, to: &line)
            for (name, value) in fields {
                line.append(UInt8(ascii: ","))
                JSONString.append(name, to: &line)
                line.append(UInt8(ascii: ":"))
                JSONString.append(value, to: &line)
            }
            line.append(UInt8(ascii: "}"))
        }
        line.append(UInt8(ascii: "\n"))
        Self.writeStderr(line)
    }

    /// Values with spaces, quotes or control characters are quoted so one event stays one line.
    private static func appendTextValue(_ value: String, to line: inout [UInt8]) {
        let needsQuotes =
            value.isEmpty || value.utf8.contains { $0 <= 0x20 || $0 == 0x22 || $0 == 0x3D || $0 == 0x7F || $0 == 0x5C }
        if needsQuotes {
            JSONString.append(value, to: &line)
        } else {
            line.append(contentsOf: value.utf8)
        }
    }

    /// One `write(2)` per line: lines from concurrent workers never interleave, and the global
    /// `stderr` stream (not concurrency-safe in Swift 6) is never touched.
    public static func writeStderr(_ bytes: [UInt8]) {
        FileBytes.writeAll(bytes, to: 2)
    }

    /// UTC time with milliseconds, ISO 8601, written as digits straight into the line (one per
    /// request at info level: no intermediate strings).
    static func appendTimestamp(to line: inout [UInt8]) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func digits(_ value: Int32, _ width: Int) {
            var divisor: Int32 = 1
            for _ in 1..<width { divisor *= 10 }
            while divisor > 0 {
                line.append(UInt8(ascii: "0") + UInt8((value / divisor) % 10))
                divisor /= 10
            }
        }
        digits(parts.tm_year + 1900, 4)
        line.append(UInt8(ascii: "-"))
        digits(parts.tm_mon + 1, 2)
        line.append(UInt8(ascii: "-"))
        digits(parts.tm_mday, 2)
        line.append(UInt8(ascii: "T"))
        digits(parts.tm_hour, 2)
        line.append(UInt8(ascii: ":"))
        digits(parts.tm_min, 2)
        line.append(UInt8(ascii: ":"))
        digits(parts.tm_sec, 2)
        line.append(UInt8(ascii: "."))
        digits(Int32(now.tv_nsec / 1_000_000), 3)
        line.append(UInt8(ascii: "Z"))
    }
}
