import Glibc

/// The responder's settings, with the defaults README.md "Configuration" lists for every field.
public struct Config: Sendable {
    /// The site's secret eSputnik API key; never logged, never answered.
    public var apiKey: String = ""
    /// eSputnik's token endpoint.
    public var tokenURL: String = "https://esputnik.com/v1/auth/contact/token"
    /// An extra CA bundle trusted for the token endpoint, besides the system's CA directory.
    public var caFile: String?
    /// How long to wait for a TCP+TLS connection to eSputnik, in milliseconds.
    public var connectTimeoutMs: Int = 2000
    /// The whole exchange's deadline, retries included, in milliseconds.
    public var timeoutMs: Int = 5000
    /// The URL prefix under which the routes live.
    public var basePath: String = "/app-inbox"
    /// Which FastCGI params carry the validated identity.
    public var identityParams = IdentityParams()
    /// Permits identity params named `HTTP_*`, which any client can set as a request header.
    public var allowHeaderIdentity: Bool = false
    /// Worker threads: each answers one request at a time and waits on nothing slow (connections
    /// wait in epoll, exchanges in the curl event loop), so one per core is enough.
    public var threads: Int = Config.defaultThreads
    /// Permission bits of a `unix:` listen socket.
    public var socketMode: UInt32 = 0o660
    /// How long a FastCGI connection may go without delivering a complete request head (after
    /// it opens, or between requests on a kept connection) before it is closed, in seconds.
    public var idleTimeoutSeconds: Int = 10
    /// The most bytes of params one request may carry; a larger request's connection is closed.
    public var maxParamsBytes: Int = 65_536
    /// Permits listening on a TCP address other than loopback: every peer of the FastCGI socket
    /// is trusted to pass the identity, so the network must not be one.
    public var allowRemoteListen: Bool = false
    /// How long in-flight requests may take to finish after SIGTERM/SIGINT, in seconds.
    public var shutdownGraceSeconds: Int = 10
    /// The least severe log level written.
    public var logLevel: LogLevel = .info
    /// Text lines or JSON objects.
    public var logFormat: LogFormat = .text
    /// Cache, rate limits, circuit breaker and cross-site guard.
    public var resilience = ResilienceSettings()
    /// Languages, loader and flags of the `init.js` route.
    public var initScript = InitScriptSettings()
    /// Signed identity tokens: where they come from and what they must claim.
    public var signedIdentity = SignedIdentitySettings()
    /// Fleet mode: Redis, the fleet's budget and shared secret.
    public var fleet = FleetSettings()
    /// The keys read from `signedIdentity`'s files; nil when signed identity is off.
    public var signedIdentityKeys: SignedIdentityKeys?

    /// The verifier of signed identity tokens, when signed identity is on.
    public var signedIdentityVerifier: SignedIdentity? {
        signedIdentityKeys.map { SignedIdentity(keys: $0, settings: signedIdentity) }
    }

    /// Creates the default configuration (no API key).
    public init() {}

    /// The longest token URL accepted: far above any real one, far below libcurl's 8 MB limit
    /// (past which curl refuses the option).
    public static let maxTokenURLBytes = 2048

    /// How many worker threads `APP_INBOX_THREADS` and `--threads` may ask for.
    public static let threadRange = 1...1024

    /// The online cores (`sysconf(_SC_NPROCESSORS_ONLN)`), at least one.
    public static let defaultThreads: Int = {
        let online = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return min(max(1, Int(online)), threadRange.upperBound)
    }()

    /// The version sent as `User-Agent` and printed by `--version` (the Makefile reads it from
    /// this line for the tarball's name).
    public static let version = "0.1.0"
}

/// The FastCGI param names that carry each identity field.
public struct IdentityParams: Sendable, Equatable {
    /// The param holding the user's email.
    public var email = "INBOX_EMAIL"
    /// The param holding the user's phone number.
    public var phone = "INBOX_PHONE"
    /// The param holding the site's own customer id.
    public var externalCustomerId = "INBOX_EXTERNAL_CUSTOMER_ID"

    /// Creates the default param names.
    public init() {}
}

/// One thing wrong with the configuration, naming the variable to fix.
public struct ConfigProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// The environment variable (or option) at fault.
    public var variable: String
    /// What is wrong with it.
    public var message: String

    /// Creates a problem report.
    public init(_ variable: String, _ message: String) {
        self.variable = variable
        self.message = message
    }

    /// `VARIABLE: message`, the line printed at startup.
    public var description: String { "\(variable): \(message)" }
}
