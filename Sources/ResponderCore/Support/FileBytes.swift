import Glibc

/// Whole-file reads through POSIX calls, so the library needs no Foundation.
public enum FileBytes {
    /// A failed read, carrying errno's text.
    public struct ReadError: Error, CustomStringConvertible {
        /// strerror(errno) at the failing call.
        public let description: String
    }

    /// Whether every local user may read the file at `path` (false when it cannot be stat'ed).
    public static func isWorldReadable(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && status.st_mode & S_IROTH != 0
    }

    /// Reads the file at `path`; refuses files over `limit` bytes.
    public static func read(_ path: String) throws -> [UInt8] {
        try read(path, limit: 16 * 1024 * 1024)
    }

    /// Reads the file at `path`; refuses files over `limit` bytes.
    public static func read(_ path: String, limit: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ReadError(description: String(cString: strerror(errno))) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ReadError(description: String(cString: strerror(errno)))
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > limit { throw ReadError(description: "larger than \(limit) bytes") }
        }
    }

    /// Writes all of `bytes` to `fd`, resuming after partial writes and signals; false when the
    /// descriptor refuses (e.g. the reader went away).
    @discardableResult
    public static func writeAll(_ bytes: [UInt8], to fd: Int32) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0, errno == EINTR { continue }
                if written <= 0 { return false }
                offset += written
            }
            return true
        }
    }
}
