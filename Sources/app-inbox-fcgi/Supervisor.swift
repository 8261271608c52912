import AppInbox
import CProcess
import FastCGI
import Glibc

/// The supervising parent: it holds the listening socket and runs the server in a child process
/// that serves that socket as fd 0 (the spawn-fcgi way), restarting the child when it dies
/// abnormally. Connections queue on the socket meanwhile, so a crash costs the requests in
/// flight, not the service. This is the defence against a crash we cannot rule out inside
/// libfcgi (docs/PITFALLS.md #3, #25), after PHP-FPM's master.
///
/// Only signals reach the parent: it loads no curl, no OpenSSL, and reads no request.
enum Supervisor {
    /// The variable that tells a child who supervises it (and so to die with it).
    static let parentVariable = "APP_INBOX_SUPERVISOR_PID"

    /// A child that lived at least this long had been serving; one that exits sooner with a
    /// status failed to start (its own message says why), and restarting it would only repeat that.
    static let settledAfterMs = 1000.0
    /// The longest pause between restarts of a child that keeps dying.
    static let maxBackoffMs = 30_000.0

    /// Whether this process was started by a supervisor; if so, it asks the kernel to stop it
    /// when the supervisor goes, and returns false when the supervisor is already gone.
    static func adoptParent() -> Bool? {
        guard let text = getenv(parentVariable), let parent = pid_t(String(cString: text)) else { return nil }
        guard cprocess_set_parent_death_signal(SIGTERM) == 0 else { return false }
        return getppid() == parent
    }

    /// Serves `socket` through children until SIGTERM/SIGINT; returns the exit status.
    static func run(socket: ListenSocket, childArguments: [String], graceSeconds: Int, log: Log) -> Int32 {
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&signals, signal) }
        guard pthread_sigmask(SIG_BLOCK, &signals, nil) == 0 else {
            log.error("signal_setup_failed")
            return 1
        }

        var restarts = 0
        var backoffMs = 0.0
        while true {
            let started = MonotonicClock.nowMs()
            guard let child = spawn(socket: socket, arguments: childArguments, log: log) else {
                socket.removeSocketFile()
                return 1
            }
            log.info("child_started", ["pid": String(child), "restarts": String(restarts)])
            switch watch(child, signals: signals, socket: socket, graceSeconds: graceSeconds, log: log) {
            case .stopped(let status):
                socket.removeSocketFile()
                return status
            case .died(let description, let status):
                let livedMs = MonotonicClock.nowMs() - started
                if status != nil, livedMs < settledAfterMs {
                    log.error("child_failed_to_start", ["pid": String(child), "exit": description])
                    socket.removeSocketFile()
                    return status ?? 1
                }
                // A child that had run a while restarts at once; one that keeps dying, ever slower.
                backoffMs = livedMs >= 10_000 ? 0 : min(max(backoffMs * 2, 100), maxBackoffMs)
                restarts += 1
                log.error(
                    "child_died",
                    [
                        "pid": String(child), "exit": description, "restart_in_ms": String(Int(backoffMs)),
                        "restarts": String(restarts),
                    ])
                if let stop = pause(ms: backoffMs, signals: signals) {
                    log.info("stopped", ["signal": stop])
                    socket.removeSocketFile()
                    return 0
                }
            }
        }
    }

    private enum Watch {
        /// We were told to stop and the child has exited with this status.
        case stopped(Int32)
        /// The child died on its own: how, and its exit status when it exited rather than being killed.
        case died(String, status: Int32?)
    }

    /// Relays signals to the child until it exits.
    private static func watch(_ child: pid_t, signals: sigset_t, socket: ListenSocket, graceSeconds: Int, log: Log) -> Watch {
        var signals = signals
        var stopping = false
        while true {
            var info = siginfo_t()
            var timeout = timespec(tv_sec: 1, tv_nsec: 0)
            let received = sigtimedwait(&signals, &info, &timeout)
            if received == SIGTERM || received == SIGINT {
                if !stopping {
                    stopping = true
                    // Wakes the child's workers blocked in accept: the socket is one for both.
                    socket.shutdownAccepting()
                    kill(child, received)
                    // Past the child's own grace period, it is killed.
                    let killAt = MonotonicClock.nowMs() + Double(graceSeconds + 5) * 1000
                    if let status = reap(child, until: killAt) { return .stopped(status) }
                    log.warn("child_killed", ["pid": String(child), "detail": "did not stop within the grace period"])
                    kill(child, SIGKILL)
                    return .stopped(reap(child, until: .infinity) ?? 1)
                }
            } else if received == SIGHUP {
                kill(child, SIGHUP)
            }
            var status: Int32 = 0
            let reaped = waitpid(child, &status, WNOHANG)
            guard reaped == child else { continue }
            guard let code = exitCode(status) else { return .died("signal \(status & 0x7F)", status: nil) }
            if code == 0 { return .stopped(0) }  // stopped by someone else's signal: so do we
            return .died("status \(code)", status: code)
        }
    }

    /// The exit status in waitpid's status word, or nil when a signal ended the child (wait(2)).
    private static func exitCode(_ status: Int32) -> Int32? {
        status & 0x7F == 0 ? (status >> 8) & 0xFF : nil
    }

    /// Waits for the child's exit status until the monotonic time `deadline`.
    private static func reap(_ child: pid_t, until deadline: Double) -> Int32? {
        while MonotonicClock.nowMs() < deadline {
            var status: Int32 = 0
            if waitpid(child, &status, WNOHANG) == child {
                return exitCode(status) ?? 1
            }
            MonotonicClock.sleep(ms: 20)
        }
        return nil
    }

    /// Sleeps between restarts; returns the name of a stop signal that arrived meanwhile.
    private static func pause(ms: Double, signals: sigset_t) -> String? {
        var signals = signals
        let deadline = MonotonicClock.nowMs() + ms
        while true {
            let remaining = deadline - MonotonicClock.nowMs()
            guard remaining > 0 else { return nil }
            var timeout = timespec(tv_sec: Int(remaining / 1000), tv_nsec: Int(remaining.truncatingRemainder(dividingBy: 1000) * 1_000_000))
            var info = siginfo_t()
            let received = sigtimedwait(&signals, &info, &timeout)
            if received == SIGTERM { return "TERM" }
            if received == SIGINT { return "INT" }
        }
    }

    /// Starts this same program as a child serving `socket` on its fd 0. The child starts with
    /// the stop and reload signals blocked, as its server keeps them for its signal thread: a
    /// SIGHUP relayed while it was still starting would otherwise kill it (the default action).
    private static func spawn(socket: ListenSocket, arguments: [String], log: Log) -> pid_t? {
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        guard posix_spawn_file_actions_init(&actions) == 0 else { return nil }
        defer { posix_spawn_file_actions_destroy(&actions) }
        guard posix_spawnattr_init(&attributes) == 0 else { return nil }
        defer { posix_spawnattr_destroy(&attributes) }
        var blocked = sigset_t()
        sigemptyset(&blocked)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&blocked, signal) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGCHLD)
        guard posix_spawn_file_actions_adddup2(&actions, socket.fd, 0) == 0,
            posix_spawnattr_setsigmask(&attributes, &blocked) == 0,
            posix_spawnattr_setsigdefault(&attributes, &defaults) == 0,
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) == 0
        else {
            log.error("spawn_failed", ["error": "posix_spawn setup failed"])
            return nil
        }
        // The binary's real path, not /proc/self/exe: the child's process name is then
        // app-inbox-fcgi, as ps, pgrep and the journal show it.
        var path = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &path, path.count - 1)
        guard length > 0 else {
            log.error("spawn_failed", ["error": "readlink /proc/self/exe: \(String(cString: strerror(errno)))"])
            return nil
        }
        let program = String(decoding: path[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var environment = ProcessEnvironment.entries().filter { !$0.hasPrefix(parentVariable + "=") }
        environment.append("\(parentVariable)=\(getpid())")
        // A crash report names the frames but prints no register memory, which could hold part
        // of the API key; an operator's own SWIFT_BACKTRACE setting wins.
        if !environment.contains(where: { $0.hasPrefix("SWIFT_BACKTRACE=") }) {
            environment.append("SWIFT_BACKTRACE=registers=none")
        }
        let argv = ([CommandLine.arguments.first ?? "app-inbox-fcgi"] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var child: pid_t = 0
        let status = posix_spawn(&child, program, &actions, &attributes, argv, envp)
        guard status == 0 else {
            log.error("spawn_failed", ["error": String(cString: strerror(status))])
            return nil
        }
        return child
    }
}
