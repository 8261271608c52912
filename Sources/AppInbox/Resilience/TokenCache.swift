import Synchronization

/// Opt-in cache of tokens by identity key, bounded in size, oldest entry evicted first.
public final class TokenCache: Sendable {
    struct Entry {
        var token: String
        var expiresMs: Double
        var order: UInt64
    }

    struct Table {
        var entries: [IdentityKey: Entry] = [:]
        /// Keys in insertion order; a key whose entry was replaced since is skipped on eviction.
        var queue: [(key: IdentityKey, order: UInt64)] = []
        var queueHead = 0
        var nextOrder: UInt64 = 0
        var evictions = 0
    }

    private let table = Mutex(Table())
    private let capacity: Int

    /// Creates a cache holding at most `capacity` identities.
    public init(capacity: Int) {
        self.capacity = capacity
    }

    /// The cached token, if one is there and not expired.
    public func lookup(_ key: IdentityKey, nowMs: Double) -> String? {
        table.withLock { table in
            guard let entry = table.entries[key] else { return nil }
            guard entry.expiresMs > nowMs else {
                table.entries[key] = nil
                return nil
            }
            return entry.token
        }
    }

    /// Stores (or replaces) a token for `ttlSeconds`; evicts the oldest entry when full.
    public func store(_ key: IdentityKey, token: String, ttlSeconds: Int, nowMs: Double) {
        guard ttlSeconds > 0 else { return }
        table.withLock { table in
            table.nextOrder += 1
            let order = table.nextOrder
            table.entries[key] = Entry(token: token, expiresMs: nowMs + Double(ttlSeconds) * 1000, order: order)
            table.queue.append((key, order))
            while table.entries.count > capacity, table.queueHead < table.queue.count {
                let oldest = table.queue[table.queueHead]
                table.queueHead += 1
                if table.entries[oldest.key]?.order == oldest.order {
                    table.entries[oldest.key] = nil
                    table.evictions += 1
                }
            }
            // Compact the queue once its dead prefix outweighs the live part.
            if table.queueHead > 1024, table.queueHead * 2 > table.queue.count {
                table.queue.removeFirst(table.queueHead)
                table.queueHead = 0
            }
        }
    }

    /// Entries held and evictions so far (for `status`).
    public var stats: (size: Int, evictions: Int) {
        table.withLock { ($0.entries.count, $0.evictions) }
    }
}
