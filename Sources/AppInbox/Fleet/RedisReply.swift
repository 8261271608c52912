import CRedis

/// A Redis reply as Swift values, copied out of hiredis's, which is freed when its callback returns.
enum RedisReply: Sendable, Equatable {
    case status(String)
    case error(String)
    case integer(Int)
    case bulk([UInt8])
    case null
    case array([RedisReply])

    init(_ reply: UnsafePointer<redisReply>) {
        let fields = reply.pointee
        let bytes = { () -> [UInt8] in
            guard let str = fields.str else { return [] }
            return Array(UnsafeRawBufferPointer(start: str, count: fields.len))
        }
        switch fields.type {
        case REDIS_REPLY_STRING: self = .bulk(bytes())
        case REDIS_REPLY_STATUS: self = .status(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_ERROR: self = .error(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_INTEGER: self = .integer(Int(fields.integer))
        case REDIS_REPLY_ARRAY:
            self = .array(
                (0..<fields.elements).map { index in
                    fields.element[index].map { RedisReply(UnsafePointer($0)) } ?? .null
                })
        default: self = .null
        }
    }

    /// The reply's integer, when it is an integer reply.
    var integer: Int? {
        guard case .integer(let value) = self else { return nil }
        return value
    }
}

/// What a command came to: Redis's reply, or none and why (not connected, no answer within the
/// timeout, connection lost). A request that gets `.unavailable` goes on with local limits.
enum RedisResult: Sendable {
    case reply(RedisReply)
    case unavailable(String)
}
