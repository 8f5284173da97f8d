/// Which side of the relay a filtermail instance guards.
public enum FilterMode: String, CaseIterable, Sendable {
    /// Mail submitted by our users (Postfix submission/smtps proxy filter).
    case outgoing
    /// Mail arriving from other servers (Postfix port 25 proxy filter).
    case incoming

    /// Prefix of the log lines mtail counts (`Outgoing: ...`, `Incoming: ...`).
    var logName: String { self == .outgoing ? "Outgoing" : "Incoming" }
}
