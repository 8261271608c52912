import CProcess
import Glibc

/// Keeps the API key out of core files: the process holds it in memory, and so does every
/// request's Authorization header inside libcurl. Same-user processes also lose ptrace access
/// and `/proc/PID/environ` (prctl(2) PR_SET_DUMPABLE).
enum ProcessHardening {
    /// Sets RLIMIT_CORE to 0 and marks the process not dumpable; false when either fails.
    static func apply() -> Bool {
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        return setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &none) == 0 && cprocess_set_dumpable(0) == 0
    }
}
