/// Per-sender rate limit with the generic cell rate algorithm (GCRA), the
/// algorithm of the Rust `governor` crate the relay's filtermail uses:
/// `perMinute` messages a minute on average, and bursts of up to `burst`.
/// With the defaults (60, 10): ten quick messages, then one a second.
///
/// Not thread-safe by itself; the server wraps it in a lock. Time is passed
/// in (seconds on a monotonic clock) so tests need no sleeping.
struct RateLimiter {
    /// Seconds between two messages at the sustained rate.
    let interval: Double
    /// How far the theoretical arrival time may run ahead of now.
    let tolerance: Double
    /// Theoretical arrival time per sender.
    private var arrival: [String: Double] = [:]
    private var checksSincePrune = 0

    init(perMinute: Int, burst: Int) {
        interval = 60.0 / Double(max(perMinute, 1))
        tolerance = interval * Double(max(burst, 1))
    }

    /// Takes one cell for `key`; nil when allowed, else the seconds until
    /// the next message would be allowed.
    mutating func check(_ key: String, now: Double) -> Double? {
        prune(now: now)
        let next = max(arrival[key] ?? now, now) + interval
        let ahead = next - now
        guard ahead <= tolerance else { return ahead - tolerance }
        arrival[key] = next
        return nil
    }

    var trackedSenders: Int { arrival.count }

    /// Drops senders whose arrival time has passed: for them a fresh start
    /// is the same state. Amortised so memory stays bounded by the senders
    /// active in the last `tolerance` seconds.
    private mutating func prune(now: Double) {
        checksSincePrune += 1
        guard checksSincePrune >= 1024 || arrival.count > 4096 && checksSincePrune >= 64 else { return }
        checksSincePrune = 0
        arrival = arrival.filter { $0.value > now }
    }
}
