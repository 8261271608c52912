import Glibc

/// Reads the FastCGI records waiting at the start of a connection, before libfcgi does, and
/// decides whether libfcgi may have them (FastCGI 1.0, https://fastcgi-archives.github.io/FastCGI_Specification.html).
///
/// libfcgi trusts its peer: one management record (request id 0) naming `FCGI_MAX_CONNS` eight
/// times overflows the stack buffer of its `FCGI_GET_VALUES` answer and aborts the process; a NUL
/// in a value or `=` in a name changes what `FCGX_GetParam` returns; params are read into memory
/// without a bound. Web servers send none of that, so a connection that does is closed unread.
enum RequestHead {
    /// What the waiting bytes allow.
    enum Verdict: Equatable {
        /// A BEGIN_REQUEST for the responder role and all of its params, nothing refused after them.
        case ready
        /// Not yet a whole head; wait for more bytes.
        case incomplete
        /// A request for a role other than responder (authorizer, filter): answered
        /// FCGI_UNKNOWN_ROLE, as the specification asks (§5.1).
        case unknownRole(requestId: UInt16)
        /// Close the connection; the reason is for the log.
        case refused(String)
    }

    // Record types and roles of the specification, §8.
    static let beginRequest: UInt8 = 1
    static let params: UInt8 = 4
    static let responderRole: UInt16 = 1
    static let headerLength = 8

    /// Scans `bytes` (the head of the connection's receive queue) for one request's head.
    static func scan(_ bytes: UnsafeRawBufferPointer, maxParamsBytes: Int) -> Verdict {
        var offset = 0
        var requestId: UInt16?
        var paramsBytes = 0
        var paramsRanges: [Range<Int>] = []
        var headDone = false
        while bytes.count - offset >= headerLength {
            let version = bytes[offset]
            let type = bytes[offset + 1]
            let id = UInt16(bytes[offset + 2]) << 8 | UInt16(bytes[offset + 3])
            let contentLength = Int(bytes[offset + 4]) << 8 | Int(bytes[offset + 5])
            let paddingLength = Int(bytes[offset + 6])
            let content = offset + headerLength..<offset + headerLength + contentLength
            guard version == 1 else { return .refused("not FastCGI version 1") }
            guard id != 0 else { return .refused("management record (request id 0)") }
            if !headDone {
                if let requestId {
                    guard id == requestId, type == params else {
                        return .refused("record type \(type) before the params ended")
                    }
                    paramsBytes += contentLength
                    guard paramsBytes <= maxParamsBytes else {
                        return .refused("params over \(maxParamsBytes) bytes")
                    }
                    guard content.upperBound <= bytes.count else { return .incomplete }
                    if contentLength == 0 {
                        headDone = true
                        if let problem = pairsProblem(bytes, paramsRanges) { return .refused(problem) }
                    } else {
                        paramsRanges.append(content)
                    }
                } else {
                    guard type == beginRequest, contentLength == 8 else {
                        return .refused("the first record is not BEGIN_REQUEST")
                    }
                    guard content.upperBound <= bytes.count else { return .incomplete }
                    let role = UInt16(bytes[content.lowerBound]) << 8 | UInt16(bytes[content.lowerBound + 1])
                    guard role == responderRole else { return .unknownRole(requestId: id) }
                    requestId = id
                }
            }
            // After the head, records are libfcgi's to read (STDIN, DATA, ABORT_REQUEST, or a
            // BEGIN_REQUEST that it refuses as multiplexing); only request id 0 is refused above.
            offset = content.upperBound + paddingLength
        }
        return headDone ? .ready : .incomplete
    }

    /// Why the params' name-value pairs (§3.4) must not reach libfcgi, or nil when they may.
    /// libfcgi stores each pair as the C string `name=value`, so a NUL cuts a value short and an
    /// `=` in a name moves bytes from the name into the value.
    static func pairsProblem(_ bytes: UnsafeRawBufferPointer, _ ranges: [Range<Int>]) -> String? {
        guard !ranges.isEmpty else { return nil }
        if ranges.count == 1 {
            return pairsProblem(UnsafeRawBufferPointer(rebasing: bytes[ranges[0]]))
        }
        // Pairs may straddle records: join them (rare; nginx sends its params in one record).
        var joined: [UInt8] = []
        for range in ranges { joined.append(contentsOf: bytes[range]) }
        return joined.withUnsafeBytes { pairsProblem($0) }
    }

    private static func pairsProblem(_ pairs: UnsafeRawBufferPointer) -> String? {
        var offset = 0
        func length() -> Int? {
            guard offset < pairs.count else { return nil }
            if pairs[offset] & 0x80 == 0 {
                offset += 1
                return Int(pairs[offset - 1])
            }
            guard pairs.count - offset >= 4 else { return nil }
            let value =
                (Int(pairs[offset]) & 0x7F) << 24 | Int(pairs[offset + 1]) << 16 | Int(pairs[offset + 2]) << 8
                | Int(pairs[offset + 3])
            offset += 4
            return value
        }
        while offset < pairs.count {
            guard let nameLength = length(), let valueLength = length(),
                nameLength <= pairs.count - offset, valueLength <= pairs.count - offset - nameLength
            else { return "malformed params" }
            let name = pairs.baseAddress! + offset
            let value = name + nameLength
            if memchr(name, 0x3D, nameLength) != nil || memchr(name, 0, nameLength) != nil {
                return "a param name contains = or NUL"
            }
            if memchr(value, 0, valueLength) != nil { return "a param value contains NUL" }
            offset += nameLength + valueLength
        }
        return nil
    }
}
