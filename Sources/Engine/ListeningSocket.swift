import Foundation
import Remote
import Support
/// A listening socket as `ss -ltunpH` prints it. Read by the deploy probe
/// (port-conflict check) and by `cmdeploy status` (who holds which port).
public struct ListeningSocket: Sendable, Equatable {
    public var proto: Listener.Proto
    public var address: String
    public var port: Int
    /// Every process name in the users:(...) column, without repeats.
    public var processes: [String]

    public init(proto: Listener.Proto, address: String, port: Int, processes: [String]) {
        self.proto = proto
        self.address = address
        self.port = port
        self.processes = processes
    }

    /// One line of `ss -ltunpH`:
    /// `tcp LISTEN 0 100 0.0.0.0:25 0.0.0.0:* users:(("master",pid=1,fd=13))`.
    public init?(ssLine line: String) {
        let f = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard f.count >= 5, let proto = Listener.Proto(rawValue: f[0]) else { return nil }
        let local = f[4]
        guard let colon = local.lastIndex(of: ":"), let port = Int(local[local.index(after: colon)...]) else { return nil }
        var processes: [String] = []
        if f.count > 6 {
            // Names are quoted: ("nginx",pid=...),("nginx",pid=...)
            var rest = Substring(f[6...].joined(separator: " "))
            while let open = rest.range(of: "((\"") ?? rest.range(of: "(\"") {
                rest = rest[open.upperBound...]
                guard let close = rest.firstIndex(of: "\"") else { break }
                let name = String(rest[..<close])
                if !processes.contains(name) { processes.append(name) }
                rest = rest[close...]
            }
        }
        self.init(proto: proto, address: String(local[..<colon]), port: port, processes: processes)
    }
}
