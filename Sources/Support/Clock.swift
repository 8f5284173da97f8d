#if canImport(Glibc)
import Glibc
#endif

/// Seconds on the monotonic clock (never jumps with the wall clock).
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A point in time after which a wait gives up; `nil` end means never.
public struct Deadline: Sendable {
    public let end: Double?

    public init(seconds: Double?) {
        end = seconds.map { monotonicSeconds() + $0 }
    }

    public static let never = Deadline(seconds: nil)

    public var expired: Bool { end.map { monotonicSeconds() >= $0 } ?? false }

    /// Milliseconds for poll(): -1 (forever) without an end, at least 1 ms
    /// otherwise so a nearly expired deadline still gets one real wait.
    public func pollMilliseconds(cap: Int32? = nil) -> Int32 {
        var ms: Int32 = -1
        if let end {
            let left = (end - monotonicSeconds()) * 1000
            ms = left <= 0 ? 0 : Int32(min(left.rounded(.up), Double(Int32.max)))
        }
        if let cap, cap >= 0, ms < 0 || cap < ms { ms = cap }
        return ms
    }

    /// The earlier of two deadlines.
    public func earlier(_ other: Deadline) -> Deadline {
        switch (end, other.end) {
        case (nil, _): return other
        case (_, nil): return self
        case let (a?, b?): return a <= b ? self : other
        }
    }
}

/// Writes to a closed pipe or socket must be an error, not a silent exit.
public let ignoreSIGPIPE: Void = {
    signal(SIGPIPE, SIG_IGN)
}()
