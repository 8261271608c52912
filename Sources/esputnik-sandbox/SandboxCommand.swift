import FastCGI
import Glibc
import ResponderCore

/// `esputnik-sandbox --listen ADDR [--threads N] --api-key KEY [--contacts FILE] [--identity-secret FILE]`
enum SandboxCommand {
    static let usage = """
        Usage: esputnik-sandbox --listen ADDR [--threads N] [--api-key KEY]... [--contacts FILE]
                               [--identity-secret FILE]

        A stand-in for eSputnik's token endpoint (POST /v1/auth/contact/token), served over
        FastCGI behind nginx, for tests, benchmarks and the demo. The key may also come from
        SANDBOX_API_KEY. The contacts file lists known emails, phones or external ids, one a line.
        Control routes: /_sandbox/fault?kind=…, /_sandbox/requests, /_sandbox/reset (see README.md).
        With --identity-secret, the demo's sign-in (/_demo/login) also sets the signed identity
        cookie, an HS256 token under that file's secret, as a site's application would.

        """

    static func run(arguments: [String]) -> Int32 {
        var listen: String?
        var threads = 64
        // More than one key: eSputnik accepts old and new keys while a site rotates them.
        var apiKeys = Set(getenv("SANDBOX_API_KEY").map { [String(cString: $0)] } ?? [])
        var contactsPath: String?
        var identitySecretPath: String?
        var remaining = arguments[...]
        while let option = remaining.popFirst() {
            if option == "--help" || option == "-h" {
                print(usage, terminator: "")
                return 0
            }
            guard let value = remaining.popFirst() else { return fail("\(option) needs a value") }
            switch option {
            case "--listen": listen = value
            case "--threads":
                guard let count = Int(value), (1...1024).contains(count) else { return fail("--threads: 1 to 1024") }
                threads = count
            case "--api-key": apiKeys.insert(value)
            case "--contacts": contactsPath = value
            case "--identity-secret": identitySecretPath = value
            default: return fail("unknown option '\(option)'")
            }
        }
        guard !apiKeys.isEmpty, !apiKeys.contains("") else { return fail("an API key is required (--api-key or SANDBOX_API_KEY)") }
        var contacts: Set<[UInt8]> = []
        if let contactsPath {
            do {
                let text = String(decoding: try FileBytes.read(contactsPath), as: UTF8.self)
                for line in text.unicodeScalars.split(separator: "\n") {
                    let contact = ASCII.trimmed(String(String.UnicodeScalarView(line)))
                    if !contact.isEmpty, !contact.hasPrefix("#") { contacts.insert(Array(contact.utf8)) }
                }
            } catch {
                return fail("--contacts: cannot read \(contactsPath): \(error)")
            }
        }
        var identitySecret: [UInt8]?
        if let identitySecretPath {
            do {
                // Trimmed as app-inbox-fcgi trims APP_INBOX_SIGNED_IDENTITY_SECRET_FILE: by bytes, so
                // that both read the same secret whatever the file holds.
                identitySecret = Array(ASCII.trimmed(try FileBytes.read(identitySecretPath)[...]))
            } catch {
                return fail("--identity-secret: cannot read \(identitySecretPath): \(error)")
            }
        }
        let log = Log(level: .info, format: .text)
        let socket: ListenSocket
        if let listen {
            guard let address = ListenAddress(listen) else { return fail("--listen: '\(listen)' is not an address") }
            do {
                socket = try ListenSocket(binding: address, mode: 0o666)
            } catch {
                return fail("--listen: \(error)")
            }
        } else if ListenSocket.isListeningSocket(0) {
            socket = ListenSocket(inheritedFd: 0)
        } else {
            return fail("--listen is required")
        }
        let sandbox = Sandbox(apiKeys: apiKeys, contacts: contacts, identitySecret: identitySecret)
        let stop = FastCGIServer.run(.init(socket: socket, threads: threads, shutdownGraceSeconds: 1, log: log)) {
            { request in .now(sandbox.respond(to: request)) }
        }
        if case .setupFailed = stop { return 1 }
        return 0
    }

    static func fail(_ message: String) -> Int32 {
        Log.writeStderr(Array("esputnik-sandbox: \(message)\n".utf8))
        return 2
    }
}
