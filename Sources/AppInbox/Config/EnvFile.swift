/// Parses environment files in systemd's `EnvironmentFile=` syntax, so one file serves
/// systemd, mod_fcgid wrappers and `--env-file` alike.
///
/// Supported: `KEY=value`, `export KEY=value`, comments starting with `#` or `;`, blank lines,
/// single quotes (literal), double quotes (where only `\"`, `\\`, `` \` `` and `\$` are escapes, as
/// in systemd; any other backslash is kept), and a trailing
/// backslash that continues a line. Whitespace around unquoted values is dropped.
///
/// Read by Unicode scalar throughout, never by `Character`: a quote, `=` or backslash that a
/// combining mark follows (or a prepended mark precedes) is one Character with it, and a
/// Character-wise parser would miss the delimiter.
public enum EnvFile {
    /// Parses the file's text; a malformed line is reported with its number.
    public static func parse(_ text: String) -> Result<[String: String], ConfigProblem> {
        var variables: [String: String] = [:]
        var logicalLines: [(number: Int, text: String)] = []
        var pending = ""
        var pendingStart = 0
        // Split on scalars: "\r\n" is a single Character, so a Character split would miss CRLF files.
        for (offset, rawLine) in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var scalars = String.UnicodeScalarView(rawLine)
            if scalars.last == "\r" { scalars.removeLast() }
            if pending.isEmpty { pendingStart = offset + 1 }
            if scalars.last == "\\", !isComment(pending + String(scalars)) {
                scalars.removeLast()
                pending += String(scalars)
                continue
            }
            let line = String(scalars)
            logicalLines.append((pendingStart, pending + line))
            pending = ""
        }
        if !pending.isEmpty { logicalLines.append((pendingStart, pending)) }

        for (number, line) in logicalLines {
            let content = ASCII.trimmed(line)
            if content.isEmpty || isComment(content) { continue }
            var assignment = Substring(content).unicodeScalars
            if assignment.starts(with: "export ".unicodeScalars) { assignment = assignment.dropFirst("export ".count) }
            guard let equals = assignment.firstIndex(of: "=") else {
                return .failure(ConfigProblem("line \(number)", "expected KEY=value"))
            }
            let key = ASCII.trimmed(String(assignment[..<equals]))
            guard !key.isEmpty, key.utf8.allSatisfy(ASCII.isNameByte) else {
                return .failure(ConfigProblem("line \(number)", "invalid variable name"))
            }
            guard let value = parseValue(ASCII.trimmed(String(assignment[assignment.index(after: equals)...]))) else {
                return .failure(ConfigProblem("line \(number)", "unterminated quote in \(key)"))
            }
            variables[key] = value
        }
        return .success(variables)
    }

    private static func isComment(_ line: String) -> Bool {
        let first = ASCII.trimmed(line).unicodeScalars.first
        return first == "#" || first == ";"
    }

    private static func parseValue(_ raw: String) -> String? {
        let scalars = raw.unicodeScalars
        guard let quote = scalars.first, quote == "\"" || quote == "'" else { return raw }
        var value = String.UnicodeScalarView()
        var escaped = false
        var closed = false
        for scalar in scalars.dropFirst() {
            if closed { return nil }  // text after the closing quote
            if escaped {
                if !"\"\\`$".unicodeScalars.contains(scalar) { value.append("\\") }
                value.append(scalar)
                escaped = false
            } else if scalar == "\\", quote == "\"" {
                escaped = true
            } else if scalar == quote {
                closed = true
            } else {
                value.append(scalar)
            }
        }
        return closed ? String(value) : nil
    }
}
