import CRedis
import Glibc
import Synchronization

/// The fleet's connection to Redis, through hiredis's asynchronous API on the exchange loop's
/// thread (`CurlMulti`): a request waiting for Redis holds no thread, and every command of every
/// worker is pipelined on one connection. Redis runs one command at a time, so more connections
/// would not answer sooner; one keeps the order of replies, which is how each is matched to its
/// command.
///
/// hiredis 0.14 has no command timeout, so the client keeps its own: when the oldest command
/// waits longer than `timeoutMs`, every waiting command is answered `.unavailable`, the connection
/// is dropped, and a new one is tried after a backoff (100 ms, doubling to 2 s). Until it has
/// answered its handshake, commands are answered `.unavailable` at once: a slow or dead Redis
/// costs a request at most one timeout, and usually nothing.
///
/// Everything but `state`, `stats` and `send`'s hop is the loop thread's own.
final class RedisClient: @unchecked Sendable {
    enum State: Int, Sendable {
        case down, connecting, up

        var name: String {
            switch self {
            case .down: "down"
            case .connecting: "connecting"
            case .up: "up"
            }
        }
    }

    let endpoint: RedisEndpoint
    let timeoutMs: Double
    let stats = Locked(RedisStats())
    private let loop: CurlMulti
    private let epoll: Int32
    private let log: Log
    private let published = Atomic<Int>(State.down.rawValue)
    private let unavailable = ThrottledReport()
    /// Commands sent after each (re)connect, before any other: AUTH, SELECT, SCRIPT LOAD.
    private let handshake: [[[UInt8]]]
    /// Sent every `heartbeatMs` while up; its integer reply is the fleet's size.
    private let heartbeat: [[UInt8]]
    private let onMembers: @Sendable (Int) -> Void
    private var connection: Connection?
    private var backoffMs = RedisClient.firstBackoffMs
    /// Why the connection being freed was dropped, for the log line `reap` writes.
    private var lostReason = ""
    /// When the watchdog's earliest timer is due; infinity when none is set.
    private var watchdogDueMs = Double.infinity

    static let firstBackoffMs = 100.0
    static let longestBackoffMs = 2000.0
    /// A connection gets at least this long to connect and answer its handshake.
    static let shortestHandshakeMs = 1000.0
    static let heartbeatMs = 1000.0

    /// Starts connecting on `loop`'s thread. `scripts` are loaded after every connect, before
    /// the state turns `.up`. While up, `heartbeat` is sent every second and `onMembers` gets its
    /// integer reply (on the loop thread).
    init(
        endpoint: RedisEndpoint, timeoutMs: Int, scripts: [String], heartbeat: [[UInt8]], loop: CurlMulti, log: Log,
        onMembers: @escaping @Sendable (Int) -> Void
    ) throws(SetupError) {
        self.endpoint = endpoint
        self.timeoutMs = Double(timeoutMs)
        self.loop = loop
        self.log = log
        self.heartbeat = heartbeat
        self.onMembers = onMembers
        var handshake: [[[UInt8]]] = []
        if let password = endpoint.password {
            handshake.append([Array("AUTH".utf8)] + (endpoint.user.map { [Array($0.utf8)] } ?? []) + [Array(password.utf8)])
        }
        if endpoint.database != 0 { handshake.append([Array("SELECT".utf8), Array(String(endpoint.database).utf8)]) }
        for script in scripts { handshake.append([Array("SCRIPT".utf8), Array("LOAD".utf8), Array(script.utf8)]) }
        handshake.append([Array("PING".utf8)])
        self.handshake = handshake
        epoll = credis_epoll_create()
        guard epoll >= 0 else { throw SetupError(function: "epoll_create1", detail: String(cString: strerror(errno))) }
        try loop.watch(epoll, onReady: { [unowned self] in self.dispatch() }, beforeWait: { [unowned self] in self.flush() })
        loop.perform { [unowned self] in
            self.connect()
            self.beat()
        }
    }

    /// Whether commands are being sent to Redis; readable from any thread.
    var state: State { State(rawValue: published.load(ordering: .acquiring)) ?? .down }

    /// Sends one command; `done` runs on the loop thread with the reply, or `.unavailable`.
    /// Call on the loop thread (`CurlMulti.perform`).
    func send(_ arguments: [[UInt8]], done: @escaping (RedisResult) -> Void) {
        guard state == .up, let connection else { return done(.unavailable("redis is \(state.name)")) }
        let deadline = MonotonicClock.nowMs() + timeoutMs
        let sent = connection.send(arguments, deadlineMs: deadline) { [unowned self] result in
            // SCRIPT FLUSH (or a failover to a replica that never saw our scripts) makes every
            // EVALSHA fail; a new connection loads them again.
            if case .reply(.error(let message)) = result, message.hasPrefix("NOSCRIPT") {
                self.drop(connection, reason: "Redis forgot the scripts (NOSCRIPT)")
                return done(.unavailable("NOSCRIPT"))
            }
            done(result)
        }
        guard sent else {
            return done(.unavailable("hiredis refused the command (the connection is closing)"))
        }
        armWatchdog(at: deadline)
    }

    /// Counts a token request that went on without Redis, and says so in the log at most once a minute.
    func noteFallback(_ reason: String) {
        stats.withLock { $0.fallbacks += 1 }
        unavailable.error(
            "redis_unavailable",
            detail: "\(reason); rate limit and upstream budget are this responder's own, cache and fleet single flight skipped",
            nowMs: MonotonicClock.nowMs(), to: log)
    }

    private func publish(_ state: State) {
        published.store(state.rawValue, ordering: .releasing)
    }

    // MARK: - The loop thread's

    private func connect() {
        guard case .tcp(let host, let port) = endpoint.address, !RedisAddress.isNumeric(host) else {
            return connect(to: endpoint.address)
        }
        publish(.connecting)
        RedisAddress.resolve(host) { [unowned self] resolved in
            self.loop.perform {
                switch resolved {
                case .success(let address): self.connect(to: .tcp(host: address, port: port))
                case .failure(let error): self.lost(error.detail)
                }
            }
        }
    }

    private func connect(to address: RedisEndpoint.Address) {
        let started = MonotonicClock.nowMs()
        let context: UnsafeMutablePointer<redisAsyncContext>?
        switch address {
        case .tcp(let host, let port): context = redisAsyncConnect(host, Int32(port))
        case .unix(let path): context = redisAsyncConnectUnix(path)
        }
        guard let context else { return lost("redisAsyncConnect: out of memory") }
        if context.pointee.err != 0 {
            let reason = context.pointee.errstr.map { String(cString: $0) } ?? "connect failed"
            redisAsyncFree(context)
            return lost(reason)
        }
        guard let events = credis_attach(context, epoll) else {
            let reason = String(cString: strerror(errno))
            redisAsyncFree(context)
            return lost("credis_attach: \(reason)")
        }
        let connection = Connection(context: context, events: events, client: self)
        self.connection = connection
        publish(.connecting)
        stats.withLock { $0.connects += 1 }
        let deadline = started + max(timeoutMs, Self.shortestHandshakeMs)
        var remaining = handshake.count
        for command in handshake {
            let sent = connection.send(command, deadlineMs: deadline) { [unowned self] result in
                guard self.connection === connection, self.state == .connecting else { return }
                switch result {
                case .reply(.error(let message)):
                    self.drop(connection, reason: "\(String(decoding: command[0], as: UTF8.self)) failed: \(message)")
                case .unavailable(let reason):
                    self.drop(connection, reason: reason)
                case .reply:
                    remaining -= 1
                    if remaining == 0 { self.connected() }
                }
            }
            guard sent else { return drop(connection, reason: "hiredis refused the handshake") }
        }
        armWatchdog(at: deadline)
    }

    private func connected() {
        backoffMs = Self.firstBackoffMs
        publish(.up)
        log.info("redis_up", ["redis": endpoint.displayed])
        sendHeartbeat()
    }

    /// Every second for the process's life; a beat is sent only while up.
    private func beat() {
        if state == .up { sendHeartbeat() }
        loop.after(Self.heartbeatMs) { [unowned self] in self.beat() }
    }

    private func sendHeartbeat() {
        send(heartbeat) { [unowned self] result in
            guard case .reply(let reply) = result, let members = reply.integer else { return }
            self.stats.withLock { $0.members = members }
            self.onMembers(members)
        }
    }

    /// Gives up on `connection`: answers what waits on it, frees it, and tries again later.
    private func drop(_ connection: Connection, reason: String) {
        guard self.connection === connection else { return }
        publish(.down)
        lostReason = reason
        connection.failAll(reason)
        if !connection.isClosed {
            // Inside a reply callback hiredis frees it when the callback returns, and the
            // dispatch's `reap` finds it closed; elsewhere, at once.
            redisAsyncFree(connection.context)
        }
        reap()
    }

    /// After hiredis had its turn: a connection it has freed (an error, the server gone) is
    /// let go of, and the next is scheduled.
    private func reap() {
        guard let connection, connection.isClosed else { return }
        self.connection = nil
        publish(.down)
        connection.failAll("connection lost")
        credis_events_free(connection.events)
        stats.withLock { $0.disconnects += 1 }
        lost(lostReason.isEmpty ? "connection lost" : lostReason)
        lostReason = ""
    }

    /// Not connected: says so (once a minute) and tries again after the backoff.
    private func lost(_ reason: String) {
        publish(.down)
        unavailable.error(
            "redis_unavailable", detail: "\(endpoint.displayed): \(reason); retrying in \(Int(backoffMs)) ms",
            nowMs: MonotonicClock.nowMs(), to: log)
        let wait = backoffMs
        backoffMs = min(backoffMs * 2, Self.longestBackoffMs)
        loop.after(wait) { [unowned self] in
            if self.connection == nil { self.connect() }
        }
    }

    private func flush() {
        guard let connection else { return }
        credis_flush(connection.events)
        reap()
    }

    private func dispatch() {
        if credis_dispatch(epoll) != 0 {
            log.error("redis_dispatch_failed", ["error": String(cString: strerror(errno))])
        }
        reap()
    }

    /// A timer for the oldest waiting command: replies come in order, so when the oldest has not
    /// timed out, none has. A deadline earlier than the timer set (a command after the longer
    /// handshake deadline) sets an earlier one; a timer that finds an earlier one set does nothing.
    private func armWatchdog(at due: Double) {
        guard due < watchdogDueMs else { return }
        watchdogDueMs = due
        loop.after(max(due - MonotonicClock.nowMs(), 1)) { [unowned self] in
            guard self.watchdogDueMs == due else { return }
            self.watchdogDueMs = .infinity
            guard let connection = self.connection, let deadline = connection.oldestDeadlineMs else { return }
            if MonotonicClock.nowMs() >= deadline {
                self.stats.withLock { $0.timeouts += 1 }
                self.drop(connection, reason: "no answer within \(Int(self.timeoutMs)) ms")
            } else {
                self.armWatchdog(at: deadline)
            }
        }
    }

    fileprivate func answered(afterMs ms: Double, error: Bool) {
        stats.withLock { $0.answered(afterMs: ms, error: error) }
    }
}

/// One hiredis connection and the commands waiting on it, oldest first.
private final class Connection {
    let context: UnsafeMutablePointer<redisAsyncContext>
    let events: UnsafeMutablePointer<credis_events>
    unowned let client: RedisClient
    private var waiting: [Waiting] = []
    private var head = 0

    struct Waiting {
        let sentMs: Double
        let deadlineMs: Double
        /// nil once answered (by a timeout or a lost connection before hiredis let go).
        var done: ((RedisResult) -> Void)?
    }

    init(context: UnsafeMutablePointer<redisAsyncContext>, events: UnsafeMutablePointer<credis_events>, client: RedisClient) {
        self.context = context
        self.events = events
        self.client = client
    }

    /// Whether hiredis has freed the context (its cleanup hook ran).
    var isClosed: Bool { events.pointee.closed != 0 }

    var oldestDeadlineMs: Double? {
        waiting[head...].first { $0.done != nil }?.deadlineMs
    }

    /// Queues a command; false when hiredis refused it (the connection is closing).
    func send(_ arguments: [[UInt8]], deadlineMs: Double, done: @escaping (RedisResult) -> Void) -> Bool {
        guard !isClosed else { return false }
        // hiredis copies the arguments into its output buffer before returning.
        var flat: [UInt8] = []
        var offsets: [Int] = []
        for argument in arguments {
            offsets.append(flat.count)
            flat += argument
        }
        flat.append(0)  // never an empty buffer, so its base address is never nil
        var lengths = arguments.map(\.count)
        let privdata = Unmanaged.passUnretained(self).toOpaque()
        let status = flat.withUnsafeBufferPointer { base in
            var pointers: [UnsafePointer<CChar>?] = offsets.map {
                UnsafeRawPointer(base.baseAddress! + $0).assumingMemoryBound(to: CChar.self)
            }
            return redisAsyncCommandArgv(context, onReply, privdata, Int32(arguments.count), &pointers, &lengths)
        }
        guard status == REDIS_OK else { return false }
        waiting.append(Waiting(sentMs: MonotonicClock.nowMs(), deadlineMs: deadlineMs, done: done))
        return true
    }

    /// The oldest command's reply (hiredis answers in order, and with NULL for each command
    /// still waiting when the connection goes).
    func answer(_ reply: RedisReply?) {
        guard head < waiting.count else { return }
        let entry = waiting[head]
        waiting[head].done = nil
        head += 1
        if head > 1024, head * 2 > waiting.count {
            waiting.removeFirst(head)
            head = 0
        }
        guard let done = entry.done else { return }
        if let reply {
            var failed = false
            if case .error = reply { failed = true }
            client.answered(afterMs: MonotonicClock.nowMs() - entry.sentMs, error: failed)
            done(.reply(reply))
        } else {
            done(.unavailable("connection lost"))
        }
    }

    /// Answers every waiting command `.unavailable` now; hiredis's later NULL replies find them answered.
    func failAll(_ reason: String) {
        for index in waiting.indices[head...] {
            guard let done = waiting[index].done else { continue }
            waiting[index].done = nil
            done(.unavailable(reason))
        }
    }
}

/// hiredis's callback for every command: `privdata` is the connection it was sent on.
private func onReply(
    _ context: UnsafeMutablePointer<redisAsyncContext>?, _ reply: UnsafeMutableRawPointer?, _ privdata: UnsafeMutableRawPointer?
) {
    guard let privdata else { return }
    let connection = Unmanaged<Connection>.fromOpaque(privdata).takeUnretainedValue()
    connection.answer(reply.map { RedisReply(UnsafePointer($0.assumingMemoryBound(to: redisReply.self))) })
}
