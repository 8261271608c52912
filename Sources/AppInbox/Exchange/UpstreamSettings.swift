/// Settings of the HTTP request to eSputnik.
public struct UpstreamSettings: Sendable, Equatable {
    /// The token endpoint URL.
    public var url: String
    /// The API key, sent as the Basic-auth password.
    public var apiKey: String
    /// Extra CA bundle, if any.
    public var caFile: String?
    /// TCP+TLS connect deadline per attempt.
    public var connectTimeoutMs: Int

    /// Creates settings.
    public init(url: String, apiKey: String, caFile: String?, connectTimeoutMs: Int) {
        self.url = url
        self.apiKey = apiKey
        self.caFile = caFile
        self.connectTimeoutMs = connectTimeoutMs
    }

    /// Takes the upstream settings from the configuration.
    public init(config: Config) {
        self.init(url: config.tokenURL, apiKey: config.apiKey, caFile: config.caFile, connectTimeoutMs: config.connectTimeoutMs)
    }

    /// Basic auth with a fixed user name: eSputnik reads only the password, which is the key.
    var authorizationHeader: String {
        "Authorization: Basic " + Base64.encode(Array("app-inbox-fcgi:\(apiKey)".utf8))
    }
}
