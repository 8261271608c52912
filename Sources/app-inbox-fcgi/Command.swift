import AppInbox
import CProcess
import FastCGI
import Glibc

/// What each subcommand does, from parsed arguments to exit status.
enum Command {
    static func run(arguments: [String]) -> Int32 {
        guard ProcessHardening.apply() else {
            printError("app-inbox-fcgi: cannot turn core dumps off: \(String(cString: strerror(errno)))")
            return 1
        }
        let parsed: Arguments
        do {
            parsed = try Arguments.parse(arguments)
        } catch {
            printError("app-inbox-fcgi: \(error.message)\nRun 'app-inbox-fcgi --help' for usage.")
            return 2
        }
        switch parsed.subcommand {
        case .help:
            print(Arguments.usage, terminator: "")
            return 0
        case .version:
            print("app-inbox-fcgi \(Config.version)")
            return 0
        case .checkConfig:
            guard let config = loadConfig(parsed) else { return 2 }
            for line in config.summary { print(line) }
            return 0
        case .token:
            guard let config = loadConfig(parsed) else { return 2 }
            return exchangeOnce(parsed, config: config)
        case .renderScript:
            guard let config = loadConfig(parsed) else { return 2 }
            return renderScript(parsed, config: config)
        case .serve:
            guard let config = loadConfig(parsed) else { return 2 }
            return serve(parsed, config: config)
        }
    }

    /// The environment, completed by `--env-file`; prints every problem and returns nil on any.
    static func loadConfig(
        _ arguments: Arguments, report: (String) -> Void = { printError("app-inbox-fcgi: \($0)") }
    ) -> Config? {
        var environment = ProcessEnvironment.current()
        let keyFromProcess = environment["APP_INBOX_API_KEY"]?.isEmpty == false
        if let path = arguments.envFile {
            let text: String
            do {
                text = String(decoding: try FileBytes.read(path), as: UTF8.self)
            } catch {
                report("--env-file: cannot read \(path): \(error)")
                return nil
            }
            switch EnvFile.parse(text) {
            case .success(let variables):
                // An empty variable counts as unset, here as everywhere in the configuration.
                environment.merge(variables) { fromEnvironment, fromFile in fromEnvironment.isEmpty ? fromFile : fromEnvironment }
            case .failure(let problem):
                report("--env-file \(path): \(problem)")
                return nil
            }
        }
        switch Config.load(environment: environment) {
        case .success(var config):
            if let threads = arguments.threads { config.threads = threads }
            var secretFiles = environment["APP_INBOX_API_KEY_FILE"].map { [($0, "the API key")] } ?? []
            if let path = arguments.envFile, !keyFromProcess, environment["APP_INBOX_API_KEY"]?.isEmpty == false {
                secretFiles.append((path, "the API key"))  // the key came from the env file
            }
            // Whoever reads an HS256 secret can sign in as any user.
            if let path = config.signedIdentity.secretFile { secretFiles.append((path, "the signed identity secret")) }
            if let path = config.signedIdentity.keysFile, config.signedIdentityKeys?.keys.contains(where: { $0.algorithm == .hs256 }) == true {
                secretFiles.append((path, "an HS256 signed identity secret"))
            }
            // With it and Redis, cached tokens can be read and users' keys computed.
            if let path = config.fleet.secretFile { secretFiles.append((path, "the fleet's secret")) }
            for (path, what) in secretFiles where FileBytes.isWorldReadable(path) {
                printError(
                    "app-inbox-fcgi: warning: \(path) holds \(what) and every local user can read it; chmod o-rwx \(path)")
            }
            return config
        case .failure(let failure):
            for problem in failure.problems { report(problem.description) }
            return nil
        }
    }

    static func serve(_ arguments: Arguments, config: Config) -> Int32 {
        let log = Log(level: config.logLevel, format: config.logFormat)
        // Each kept connection holds a descriptor: the administrator's hard limit applies, not
        // the login default of 1,024 (a supervised child inherits the raised limit).
        if Descriptors.raiseLimit() == nil { log.warn("descriptor_limit_unknown", ["detail": "getrlimit(RLIMIT_NOFILE) failed"]) }
        // glibc gives threads that allocate at once arenas of their own, up to 8 per core, and
        // each keeps the memory freed in it. An exchange's memory is allocated on a worker and on
        // the curl thread and freed on the other, so with many arenas RSS grows with the threads:
        // one arena per core measured 62 MB instead of 82 with 256 exchanges in flight on 64
        // workers (docs/PITFALLS.md #27). Before any thread starts; 0 means it did not take.
        if cprocess_limit_malloc_arenas(Int32(clamping: Config.defaultThreads)) == 0 {
            log.warn("malloc_arenas_unchanged", ["detail": "mallopt(M_ARENA_MAX) failed"])
        }
        let supervised = Supervisor.adoptParent()
        if supervised == false { return 1 }  // the supervisor that started us is gone
        let peers: PeerFilter
        do {
            peers = try getenv("FCGI_WEB_SERVER_ADDRS").map { try PeerFilter(list: String(cString: $0)) } ?? PeerFilter()
        } catch {
            printError("app-inbox-fcgi: \(error)")
            return 2
        }
        let socket: ListenSocket
        if let listen = arguments.listen {
            guard let address = ListenAddress(listen) else {
                printError("app-inbox-fcgi: --listen: '\(listen)' is not host:port, [v6addr]:port, :port or unix:/path")
                return 2
            }
            do {
                socket = try ListenSocket(binding: address, mode: config.socketMode, allowRemote: config.allowRemoteListen)
            } catch {
                printError("app-inbox-fcgi: --listen: \(error)")
                return 2
            }
        } else if let inherited = ProcessEnvironment.systemdListenFd() {
            socket = ListenSocket(inheritedFd: inherited)
        } else if ListenSocket.isListeningSocket(0) {
            socket = ListenSocket(inheritedFd: 0)
        } else if getenv("GATEWAY_INTERFACE") != nil {
            return serveCGI(config: config, log: log)
        } else {
            printError(
                "app-inbox-fcgi: nothing to serve: give --listen ADDR, start under spawn-fcgi/mod_fcgid/systemd "
                    + "(a listening socket on fd 0), or run as CGI (GATEWAY_INTERFACE set)")
            return 2
        }

        if socket.isRemoteTCP, !config.allowRemoteListen, supervised == nil {
            log.warn(
                "listening_beyond_loopback",
                ["detail": "the inherited socket accepts non-loopback peers, who can name any user; prefer a unix socket"])
        }
        // Under systemd, Restart= restarts us; elsewhere a parent of our own does (Supervisor).
        if arguments.supervise, supervised == nil, getenv("INVOCATION_ID") == nil {
            var childArguments: [String] = []
            if let threads = arguments.threads { childArguments += ["--threads", String(threads)] }
            if let envFile = arguments.envFile { childArguments += ["--env-file", envFile] }
            return Supervisor.run(
                socket: socket, childArguments: childArguments, graceSeconds: config.shutdownGraceSeconds, log: log)
        }

        let service: AppInboxService
        do {
            service = try makeService(config: config, log: log, fleet: true)
        } catch {
            printError("app-inbox-fcgi: \(error)")
            return 1
        }
        if let reason = config.initScript.unavailableReason {
            log.info("init_script_unavailable", ["reason": reason])
        }
        var options = FastCGIServer.Options(
            socket: socket, threads: config.threads, shutdownGraceSeconds: config.shutdownGraceSeconds, log: log)
        options.observeListenQueue = { service.metrics.recordListenQueue($0) }
        options.idleTimeoutSeconds = config.idleTimeoutSeconds
        options.maxParamsBytes = config.maxParamsBytes
        options.peers = peers
        options.version = Config.version
        // Re-read the environment file and key file on SIGHUP; a broken one leaves the old config in force.
        let reload = {
            guard let reloaded = loadConfig(arguments, report: { log.error("reload_refused", ["problem": $0]) }) else { return }
            service.reload(reloaded)
        }
        // Each worker thread builds its own worker (its HMAC context and counters); exchanges run on
        // the one curl event loop, so a worker never waits for eSputnik.
        let stop = FastCGIServer.run(options, onReload: reload) {
            let worker = try service.makeWorker()
            return worker.reply(to:)
        }
        switch stop {
        case .signal: return 0
        case .setupFailed: return 1
        }
    }

    /// The shared state with curl as the transport to eSputnik: the one place that wires curl in,
    /// and Redis when `fleet` (a server, not a one-request CGI process, which could not wait for
    /// Redis to connect) and APP_INBOX_REDIS_URL ask for fleet mode.
    static func makeService(config: Config, log: Log, fleet: Bool = false) throws(SetupError) -> AppInboxService {
        let share = try CurlShare.process()
        let multi = try CurlMulti.process()
        var shared: Fleet?
        if fleet, config.fleet.redis != nil, let secret = config.fleet.secret {
            shared = try Fleet(settings: config.fleet, secret: secret, exchangeTimeoutMs: config.timeoutMs, loop: multi, log: log)
        }
        // One transport per upstream settings, shared by every worker: its idle handles serve
        // whichever worker's request comes next. A reload's new settings make a new one.
        let current = Locked<CurlMultiTransport?>(nil)
        return try AppInboxService(config: config, log: log, fleet: shared) { settings throws(SetupError) in
            if let transport = current.withLock({ $0 }), transport.settings == settings { return transport }
            let transport = try CurlMultiTransport(settings: settings, share: share, multi: multi)
            current.withLock { $0 = transport }
            return transport
        }
    }

    static func serveCGI(config: Config, log: Log) -> Int32 {
        do {
            let worker = try makeService(config: config, log: log).makeWorker()
            return CGIRequest.serve(with: worker.respond(to:))
        } catch {
            printError("app-inbox-fcgi: \(error)")
            return 1
        }
    }

    /// One real exchange, printed as the token route would answer it.
    static func exchangeOnce(_ arguments: Arguments, config: Config) -> Int32 {
        let log = Log(level: config.logLevel, format: config.logFormat)
        do {
            let identity = try ContactIdentity.validated(
                email: arguments.email.map { Array($0.utf8) }, phone: arguments.phone.map { Array($0.utf8) },
                externalCustomerId: arguments.externalCustomerId.map { Array($0.utf8) })
            let worker = try makeService(config: config, log: log).makeWorker()
            let outcome = worker.exchange(identity)
            switch outcome.result {
            case .success(let token):
                print(String(decoding: TokenAnswer.body(token), as: UTF8.self))
                return 0
            case .failure(let failure):
                print(String(decoding: failure.apiError.response.body, as: UTF8.self))
                return 1
            }
        } catch let error as APIError {
            print(String(decoding: error.response.body, as: UTF8.self))
            return 2
        } catch {
            printError("app-inbox-fcgi: \(error)")
            return 1
        }
    }

    static func printError(_ message: String) {
        Log.writeStderr(Array((message + "\n").utf8))
    }
}
