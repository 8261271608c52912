import Glibc

/// The process's file descriptors. Every FastCGI connection the web server keeps open holds one,
/// and so does every worker's connection to eSputnik, so the soft limit (1,024 on most systems)
/// is what caps the kept connections long before memory does.
public enum Descriptors {
    /// Raises the soft `RLIMIT_NOFILE` to the hard limit, as nginx's `worker_rlimit_nofile` lets
    /// an administrator do: the administrator's ceiling, not the login default, then applies.
    /// Returns the soft limit in force afterwards, or nil when `getrlimit` failed. Safe with the
    /// libfcgi we use: it waits on descriptors with `poll`, not `select` (`OS_Close`; its
    /// `select` is only in the asynchronous I/O mode, which we never turn on).
    public static func raiseLimit() -> Int? {
        var limits = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limits) == 0 else { return nil }
        // An unlimited hard limit (RLIM_INFINITY) is not a valid soft one for descriptors (the
        // kernel caps it at fs.nr_open): ask for nr_open's default then.
        let target = limits.rlim_max == rlim_t.max ? rlim_t(1 << 20) : limits.rlim_max
        if limits.rlim_cur < target {
            var raised = rlimit(rlim_cur: target, rlim_max: limits.rlim_max)
            // A refusal leaves the old soft limit in force, and that is what `limit` reports.
            _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised)
        }
        return limit
    }

    /// The soft limit now, or nil when `getrlimit` failed.
    public static var limit: Int? {
        var limits = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limits) == 0 else { return nil }
        return limits.rlim_cur == rlim_t.max ? Int.max : Int(limits.rlim_cur)
    }

    /// How many are open now, from `/proc/self/fd` (nil where it cannot be read). Costs one
    /// directory read: for `status`, not for every request.
    public static func openCount() -> Int? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in
                name[0] == UInt8(ascii: ".") && (name[1] == 0 || (name[1] == UInt8(ascii: ".") && name[2] == 0))
            }
            if !isDot { count += 1 }
        }
        return count - 1  // the directory's own descriptor
    }
}
