/// The routes under the base path, and the methods each accepts.
public enum Route: String, Sendable, CaseIterable {
    case token
    case initScript = "init.js"
    case healthz
    case status

    /// Methods answered by this route; anything else gets 405 with this list as `Allow`.
    public var allowedMethods: [String] {
        switch self {
        case .token: ["GET", "POST"]
        case .initScript, .healthz: ["GET", "HEAD"]
        case .status: ["GET"]
        }
    }

    /// Finds the route for a request path under `basePath`; nil for anything else.
    /// Compares UTF-8 bytes: Character-wise `hasPrefix` and `==` cost more than the rest of
    /// routing put together.
    public static func match(path: Substring, basePath: String) -> Route? {
        let bytes = path.utf8
        guard bytes.starts(with: basePath.utf8) else { return nil }
        let rest = bytes.dropFirst(basePath.utf8.count)
        guard rest.first == UInt8(ascii: "/") else { return nil }
        let name = rest.dropFirst()
        return allCases.first { name.elementsEqual($0.rawValue.utf8) }
    }
}
