import ResponderCore

/// Keeps the first `Request.maxBodyBytes` of a request body while the adapter reads the rest
/// to its end and drops it (CGI: stdin up to CONTENT_LENGTH; FastCGI: FCGI_STDIN to EOF).
struct BodyCollector {
    private(set) var body: [UInt8] = []

    mutating func append(_ chunk: UnsafeRawBufferPointer) {
        guard body.count < Request.maxBodyBytes else { return }
        body.append(contentsOf: chunk.prefix(Request.maxBodyBytes - body.count))
    }
}
