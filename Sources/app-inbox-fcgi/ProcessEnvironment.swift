import FastCGI
import Glibc

/// The process environment without Foundation.
enum ProcessEnvironment {
    /// Every `NAME=value` of `environ`.
    static func current() -> [String: String] {
        var variables: [String: String] = [:]
        for text in entries() {
            if let equals = text.firstIndex(of: "=") {
                variables[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
        }
        return variables
    }

    /// The `NAME=value` strings of `environ`, in order (what a child process is handed).
    static func entries() -> [String] {
        var strings: [String] = []
        var entry = environ
        while let pointer = entry.pointee {
            strings.append(String(cString: pointer))
            entry += 1
        }
        return strings
    }

    /// fd 3 when systemd socket activation passed us exactly our sockets (sd_listen_fds(3)).
    static func systemdListenFd() -> Int32? {
        guard let pid = getenv("LISTEN_PID").flatMap({ Int32(String(cString: $0)) }), pid == getpid(),
            let count = getenv("LISTEN_FDS").flatMap({ Int(String(cString: $0)) }), count >= 1,
            ListenSocket.isListeningSocket(3)
        else { return nil }
        return 3
    }
}
