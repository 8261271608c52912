/// A C library (libcurl or OpenSSL) refused to set something up: a handle, a key, a context.
/// Thrown at start and on reload; never on a request's path.
public struct SetupError: Error, CustomStringConvertible {
    /// The failing C function.
    public var function: String
    /// The library's explanation.
    public var detail: String
    /// `function: detail`.
    public var description: String { "\(function): \(detail)" }
}
