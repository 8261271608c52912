import AppInbox
import FuzzSupport

// Whole requests through the real handler (AppInboxService, a worker, respond(to:)).
//
// Input, as lines: `METHOD TARGET [cached]`, then `NAME=value` params, then after an empty line
// the body. TARGET is put under /app-inbox/ as REQUEST_URI; when it does not start with a route
// name, one is put in front, so every input reaches a route. `cached` picks the service with the
// token cache, the rate limit, an Origin allow-list and strict health checks on. `{etag}` in a
// value becomes the ETag of the default language's init.js, which no mutation would guess.
//
// The token endpoint is a closed port on 127.0.0.1: every exchange fails within 200 ms, and the
// circuit breaker then answers at once for its cooldown. Logs go to stderr; scripts/fuzz runs this
// target with -close_fd_mask=2.

let apiKey = "fuzz-api-key-5c1e0a7b"
let routes = ["token", "init.js", "healthz", "status"]
let allowedStatuses: Set<Int> = [200, 304, 400, 401, 403, 404, 405, 429, 500, 502, 503, 504]

let common = [
    "APP_INBOX_API_KEY": apiKey,
    "APP_INBOX_TOKEN_URL": "https://127.0.0.1:1/v1/auth/contact/token",
    "APP_INBOX_CONNECT_TIMEOUT_MS": "100",
    "APP_INBOX_TIMEOUT_MS": "200",
    "APP_INBOX_SITE_ID": "fuzz-site",
]
let plainEnvironment = common.merging([
    "APP_INBOX_RATE_LIMIT_PER_MIN": "0",
    "APP_INBOX_LANGUAGES": "en,uk",
    "APP_INBOX_LOG_LEVEL": "info",
]) { $1 }
let cachedEnvironment = common.merging([
    "APP_INBOX_CACHE_TTL_S": "60",
    "APP_INBOX_RATE_LIMIT_PER_MIN": "5",
    "APP_INBOX_ALLOWED_ORIGINS": "https://shop.example",
    "APP_INBOX_HEALTH_STRICT": "1",
    "APP_INBOX_LANGUAGES": "uk,en,de",
    "APP_INBOX_DEFAULT_LANGUAGE": "de",
    "APP_INBOX_LOG_LEVEL": "debug",
    "APP_INBOX_LOG_FORMAT": "json",
]) { $1 }

/// What a secret could look like on its way out: the key, and the Basic credentials curl sends.
let secrets = [Array(apiKey.utf8), Array(Base64.encode(Array("app-inbox-fcgi:\(apiKey)".utf8)).utf8)]

struct Target {
    let config: Config
    let worker: AppInboxWorker
    let scripts: InitScriptCatalog
    let etag: [UInt8]

    init(_ environment: [String: String]) {
        guard case .success(let config) = Config.load(environment: environment) else { fatalError("fuzz config") }
        self.config = config
        do {
            let (share, multi) = (try CurlShare.process(), try CurlMulti.process())
            let service = try AppInboxService(config: config, log: Log(level: config.logLevel, format: config.logFormat)) {
                settings throws(SetupError) in try CurlMultiTransport(settings: settings, share: share, multi: multi)
            }
            worker = try service.makeWorker()
        } catch {
            fatalError("service: \(error)")
        }
        scripts = InitScriptCatalog(settings: config.initScript, basePath: config.basePath)!
        etag = Array((scripts.scripts[scripts.negotiation.defaultLanguage]?.etag ?? "").utf8)
    }
}

// Built on the first input; one worker each for the whole run, as a worker thread keeps its own.
nonisolated(unsafe) var targets: (plain: Target, cached: Target)?

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    if targets == nil {
        do { try CurlShare.globalInit() } catch { fatalError("curl: \(error)") }
        targets = (Target(plainEnvironment), Target(cachedEnvironment))
    }
    let input = inputBytes(data, size)
    var lines = input.split(separator: 0x0A, omittingEmptySubsequences: false)[...]
    let requestLine = lines.popFirst().map(Array.init) ?? []
    let words = requestLine.split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false).map(Array.init)
    let method = words[0]
    var target = words.count > 1 ? words[1] : []
    let service = words.count > 2 && words[2].elementsEqual("cached".utf8) ? targets!.cached : targets!.plain
    if !routes.contains(where: { target.starts(with: $0.utf8) }) {
        target = Array(routes[Int(target.reduce(0) { $0 &+ $1 } % 4)].utf8) + target
    }

    var params: [(name: [UInt8], value: [UInt8])] = [
        (Array("REQUEST_URI".utf8), Array("/app-inbox/".utf8) + target), (Array("REQUEST_METHOD".utf8), method),
    ]
    while let line = lines.popFirst(), !line.isEmpty {
        let equals = line.firstIndex(of: UInt8(ascii: "=")) ?? line.endIndex
        params.append((Array(line[..<equals]), replacing(Array(line[equals...].dropFirst()), "{etag}", with: service.etag)))
    }
    let body = Array(lines.joined(separator: [0x0A]))
    let request = Request(
        param: { name in params.first { $0.name.elementsEqual(name.utf8) }?.value },
        occurrences: { name in params.count { $0.name.elementsEqual(name.utf8) } },
        body: body)

    let response = service.worker.respond(to: request)
    // The route as the handler sees it: the path ends at `?` or `#`.
    let route = String(decoding: target.prefix { $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }, as: UTF8.self)
    checkResponse(response, to: request, route: route, of: service)
    return 0
}

func checkResponse(_ response: Response, to request: Request, route: String, of service: Target) {
    let status = response.status
    check(allowedStatuses.contains(status), "status \(status)")
    for secret in secrets {
        check(!containsBytes(response.body, secret), "the API key in the body")
        for header in response.headers {
            check(!containsBytes(Array((header.name + ": " + header.value).utf8), secret), "the API key in \(header.name)")
        }
    }
    // Nothing the client sent can split or end a header line.
    for header in response.headers {
        check(!(header.name + header.value).utf8.contains { $0 < 0x20 || $0 == 0x7F }, "control byte in \(header.name)")
    }
    if status == 405 { check(response.header("Allow") != nil, "405 without Allow") }
    if let retryAfter = response.header("Retry-After") {
        check(Int(retryAfter).map { $0 >= 1 } ?? false, "Retry-After: \(escaped(retryAfter.utf8))")
    }
    if status >= 400, response.header("Content-Type") == "application/json" {
        check(JSONValue.parse(response.body)?["error"]?.stringValue != nil, "error body: \(escaped(response.body))")
    }

    let isGet = request.method == "GET" || request.method == "HEAD"
    // By bytes: String's == would also accept canonically equivalent spellings.
    let name = routes.first { route.utf8.elementsEqual($0.utf8) }
    if name == "token" {
        // The upstream is unreachable: a 200 would be a token from nowhere.
        check(status != 200, "token route answered 200")
        check(status != 304, "token route answered 304")
    } else if name == "init.js" {
        if status == 304 {
            check(response.body.isEmpty && response.header("ETag") != nil, "304 with a body or without ETag")
            check(request.string("HTTP_IF_NONE_MATCH") != nil, "304 without If-None-Match")
        } else if status == 200 {
            // The script is the one rendered at startup for an offered language, whatever was asked.
            let language = response.header("Content-Language") ?? ""
            check(service.scripts.scripts[language]?.body == response.body, "init.js for '\(escaped(language.utf8))'")
        } else {
            check(status == 405 && !isGet, "init.js answered \(status)")
        }
    } else if name == "healthz" {
        check(status == 200 || status == 503 || (status == 405 && !isGet), "healthz answered \(status)")
    } else if name == "status" {
        if status == 200, response.header("Content-Type") == "application/json" {
            check(JSONValue.parse(response.body) != nil, "status JSON does not parse")
        }
        check(status == 200 || (status == 405 && request.method != "GET"), "status answered \(status)")
    } else {
        // `tokens`, `status.json`…: no such route.
        check(status == 404, "\(escaped(route.utf8)) answered \(status)")
    }
}

/// `bytes` with every `pattern` replaced.
func replacing(_ bytes: [UInt8], _ pattern: String, with replacement: [UInt8]) -> [UInt8] {
    let pattern = Array(pattern.utf8)
    var output: [UInt8] = []
    var index = 0
    while index < bytes.count {
        if bytes[index...].starts(with: pattern) {
            output += replacement
            index += pattern.count
        } else {
            output.append(bytes[index])
            index += 1
        }
    }
    return output
}
