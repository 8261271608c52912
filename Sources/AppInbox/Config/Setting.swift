/// One configuration variable as the running process holds it. Each settings type lists its
/// variables once, in its `settings` table; `check-config` prints the table, a reload compares
/// two tables, and a unit test checks that README.md documents every row.
public struct Setting: Sendable, Equatable {
    /// The environment variable.
    public let variable: String
    /// The value as `check-config` shows it, with any explanation (secrets redacted).
    public let shown: String
    /// The parsed value in a canonical spelling, compared on reload (empty for secrets).
    let value: String
    /// Whether a reload (SIGHUP) applies a change at once; otherwise it needs a restart.
    public let reloadable: Bool

    init(_ variable: String, _ value: String, shown: String? = nil, reloadable: Bool = false) {
        self.variable = variable
        self.value = value
        self.shown = shown ?? value
        self.reloadable = reloadable
    }

    /// `NAME=shown`, a line of `check-config`.
    public var line: String { "\(variable)=\(shown)" }
}
