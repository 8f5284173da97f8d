#if canImport(Glibc)
import Glibc
#endif
import ChatmailConfig

/// Load, memory and disk guards for account creation (existing users may
/// always log in). Readings come from /proc and statvfs, like psutil.
struct SystemLimits {
    var loadAverage: () -> Double? = SystemLimits.readLoad
    var availableMemoryMB: () -> Int? = SystemLimits.readAvailableMemoryMB
    var freeDiskMB: (String) -> Int? = SystemLimits.readFreeDiskMB

    /// nil if creation may go ahead, otherwise the reason that was logged.
    func refusal(config: ChatmailConfig) -> String? {
        if let load = loadAverage() {
            if load > config.maxLoad1m {
                return "registration rejected: load avg \(fixed2(load)) > \(fixed2(config.maxLoad1m))"
            }
        } else {
            Log.warning("ignoring unreadable system limit: load average")
        }
        if let mem = availableMemoryMB() {
            if mem < config.minAvailableMemoryMB {
                return "registration rejected: available memory \(mem)MB < \(config.minAvailableMemoryMB)MB"
            }
        } else {
            Log.warning("ignoring unreadable system limit: available memory")
        }
        if let disk = freeDiskMB(config.mailboxesDir) {
            if disk < config.minFreeDiskSpaceMB {
                return "registration rejected: free disk \(disk)MB < \(config.minFreeDiskSpaceMB)MB"
            }
        } else {
            Log.warning("ignoring unreadable system limit: free disk space of \(config.mailboxesDir)")
        }
        return nil
    }

    static func readLoad() -> Double? {
        var loads = [Double](repeating: 0, count: 3)
        return getloadavg(&loads, 3) >= 1 ? loads[0] : nil
    }

    /// MemAvailable from /proc/meminfo, in MiB.
    static func readAvailableMemoryMB() -> Int? {
        guard let text = Files.readString("/proc/meminfo") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kb = Int(fields[1]) { return kb / 1024 }
        }
        return nil
    }

    static func readFreeDiskMB(_ path: String) -> Int? {
        var st = statvfs()
        guard statvfs(path, &st) == 0 else { return nil }
        return Int(UInt64(st.f_bavail) * UInt64(st.f_frsize) / (1024 * 1024))
    }
}

func fixed2(_ v: Double) -> String {
    let cents = Int((v * 100).rounded())
    let frac = abs(cents % 100)
    return "\(cents / 100).\(frac < 10 ? "0" : "")\(frac)"
}
