import Glibc
import ResponderCore

/// Answers the single request of a plain CGI invocation: params from the environment, the body
/// from stdin, the answer to stdout. For hosts that allow CGI but no long-running process.
public enum CGIRequest {
    /// Serves one request with `responder` and returns the process exit status.
    public static func serve(with responder: (Request) -> Response) -> Int32 {
        let request = Request(param: { name in getenv(name).map { Array(UnsafeRawBufferPointer(start: $0, count: strlen($0))) } }, body: readBody())
        let response = responder(request)
        return FileBytes.writeAll(ResponseEncoding.wire(response, method: request.method), to: 1) ? 0 : 1
    }

    private static func readBody() -> [UInt8] {
        guard let lengthText = getenv("CONTENT_LENGTH"), let length = Int(String(cString: lengthText)), length > 0
        else { return [] }
        var collector = BodyCollector()
        var chunk = [UInt8](repeating: 0, count: 8192)
        var remaining = length
        while remaining > 0 {
            let count = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, min($0.count, remaining)) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            remaining -= count
            chunk.withUnsafeBytes { collector.append(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        }
        return collector.body
    }
}
