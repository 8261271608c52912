import AppInbox

/// The command line, parsed: a subcommand and its options.
struct Arguments {
    enum Subcommand: String {
        case serve
        case checkConfig = "check-config"
        case token
        case renderScript = "render-script"
        case help, version
    }

    var subcommand = Subcommand.serve
    var listen: String?
    var threads: Int?
    var envFile: String?
    var supervise = true
    var email: String?
    var phone: String?
    var externalCustomerId: String?
    var language: String?

    static let usage = """
        Usage: app-inbox-fcgi [serve] [--listen ADDR] [--threads N] [--env-file FILE] [--no-supervise]
               app-inbox-fcgi check-config [--env-file FILE]
               app-inbox-fcgi token (--email E | --phone P | --external-id ID)... [--env-file FILE]
               app-inbox-fcgi render-script [--lang xx] [--env-file FILE]
               app-inbox-fcgi --version | --help

        Serves eSputnik App Inbox tokens to a site's signed-in users over FastCGI.

          serve          answer requests (the default). ADDR is host:port, [v6addr]:port, :port
                         or unix:/path. Without --listen: systemd's socket (LISTEN_FDS), else
                         the listening socket on fd 0 (spawn-fcgi, mod_fcgid, systemd
                         StandardInput=socket), else one plain CGI request when
                         GATEWAY_INTERFACE is set.
          check-config   print the effective configuration (API key redacted) or every problem.
          token          exchange one identity with eSputnik and print the JSON answer.
          render-script  print the init script that init.js serves in language xx (default:
                         APP_INBOX_DEFAULT_LANGUAGE).

          --listen ADDR      where to listen
          --threads N        worker threads (default: one per core, or APP_INBOX_THREADS)
          --env-file FILE    fills variables the environment lacks (systemd EnvironmentFile syntax)
          --no-supervise     serve in this process: no parent that restarts a crashed server
                             (the default under systemd, whose Restart= does that job)

        Configuration comes from APP_INBOX_* environment variables; see README.md.
        Exit status: 0 success, 1 runtime failure, 2 bad usage or configuration.

        """

    struct UsageError: Error {
        let message: String
    }

    /// Parses `arguments` (without the program name).
    static func parse(_ arguments: [String]) throws(UsageError) -> Arguments {
        var parsed = Arguments()
        var remaining = arguments[...]
        if let first = remaining.first, !first.hasPrefix("-") {
            guard let subcommand = Subcommand(rawValue: first), subcommand != .help, subcommand != .version else {
                throw UsageError(message: "unknown command '\(first)'")
            }
            parsed.subcommand = subcommand
            remaining = remaining.dropFirst()
        }
        while let option = remaining.popFirst() {
            func value() throws(UsageError) -> String {
                guard let value = remaining.popFirst() else { throw UsageError(message: "\(option) needs a value") }
                return value
            }
            switch option {
            case "--help", "-h": parsed.subcommand = .help
            case "--version": parsed.subcommand = .version
            case "--listen": parsed.listen = try value()
            case "--env-file": parsed.envFile = try value()
            case "--no-supervise": parsed.supervise = false
            case "--threads":
                let text = try value()
                guard let threads = Int(text), Config.threadRange.contains(threads) else {
                    throw UsageError(message: "--threads must be a whole number from 1 to 1024")
                }
                parsed.threads = threads
            case "--email": parsed.email = try value()
            case "--phone": parsed.phone = try value()
            case "--external-id": parsed.externalCustomerId = try value()
            case "--lang": parsed.language = try value()
            default: throw UsageError(message: "unknown option '\(option)'")
            }
        }
        let identityGiven = parsed.email != nil || parsed.phone != nil || parsed.externalCustomerId != nil
        if identityGiven, parsed.subcommand != .token {
            throw UsageError(message: "--email, --phone and --external-id belong to the token command")
        }
        if parsed.language != nil, parsed.subcommand != .renderScript {
            throw UsageError(message: "--lang belongs to the render-script command")
        }
        if !parsed.supervise, parsed.subcommand != .serve {
            throw UsageError(message: "--no-supervise belongs to serve")
        }
        if parsed.subcommand == .token, !identityGiven {
            throw UsageError(message: "token needs --email, --phone or --external-id")
        }
        return parsed
    }
}
