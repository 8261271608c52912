/// The Lua scripts the fleet runs in Redis, each one atomic (EVALSHA), so that responders racing
/// for one identity or one budget see one order. Times come from Redis's own clock (`TIME`), so
/// hosts whose clocks differ still share one limit; Redis 5 or later replicates a script's
/// effects, not the script, which makes `TIME` in a writing script safe.
///
/// A limit is a generic cell rate algorithm, as `CellRate` is locally: one number per key, the
/// theoretical arrival time, kept only as long as it matters (PX).
enum FleetScripts {
    /// The lines every script that limits starts with: `now` in milliseconds, and `limit(key,
    /// interval, burst)`, which returns the seconds to wait (0: admitted and counted).
    private static let prelude = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
        local function limit(key, interval, burst)
          local tat = tonumber(redis.call('GET', key)) or now
          if tat < now then tat = now end
          local wait = tat - now - burst
          if wait > 0.001 then return math.ceil(wait / 1000) end
          tat = tat + interval
          redis.call('SET', key, string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 1)
          return 0
        end

        """

    /// Per request: the identity's rate limit, then its cached token.
    /// KEYS: rate, cache. ARGV: interval ms (0: no limit), burst ms, '1' to read the cache.
    /// Returns {0, seconds} limited, {2, sealed} cached, {1} neither.
    static let admit =
        prelude + """
            if tonumber(ARGV[1]) > 0 then
              local wait = limit(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
              if wait > 0 then return {0, wait} end
            end
            if ARGV[3] == '1' then
              local sealed = redis.call('GET', KEYS[2])
              if sealed then return {2, sealed} end
            end
            return {1}
            """

    /// Per miss, by the one request per host that leads it there: the followed call's outcome if
    /// it has one; else whether another call for the identity is under way (follow it); else the
    /// fleet's budget, and the lease that makes this request the one to call eSputnik.
    /// KEYS: lease, budget, the followed lease's result. ARGV: lease id, lease ms, budget
    /// interval ms, budget burst ms.
    /// Returns {3, sealed} outcome, {1, holder} follow, {2, seconds} over budget, {0} lead.
    static let lead =
        prelude + """
            local result = redis.call('GET', KEYS[3])
            if result then return {3, result} end
            local holder = redis.call('GET', KEYS[1])
            if holder then return {1, holder} end
            local wait = limit(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]))
            if wait > 0 then return {2, wait} end
            redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
            return {0}
            """

    /// The leader's outcome: kept for its followers, cached (or uncached) when the cache is on,
    /// and the lease given back if it is still this leader's.
    /// KEYS: lease, result, cache. ARGV: lease id, sealed outcome, result ms, cache ms ('-': cache
    /// off; '0': remove).
    static let finish = """
        redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
        if ARGV[4] ~= '-' then
          if tonumber(ARGV[4]) > 0 then
            redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[4])
          else
            redis.call('DEL', KEYS[3])
          end
        end
        if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
        return 1
        """

    /// Every second per responder: its heartbeat, and how many responders beat within the window.
    /// KEYS: members. ARGV: member id, window ms.
    static let heartbeat = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
        redis.call('ZADD', KEYS[1], now, ARGV[1])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return redis.call('ZCARD', KEYS[1])
        """

    /// All of them, in the order `Fleet.Script` numbers them.
    static let all = [admit, lead, finish, heartbeat]
}
