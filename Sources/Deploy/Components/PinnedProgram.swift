import ChatmailConfig
import Engine

/// A program the relay fetches by URL and sha256: the pin recorded here, or
/// the chatmail.ini key that overrides it. One lookup and one refusal for
/// every such component (Iroh, Turn), so their messages stay alike.
struct PinnedProgram: Sendable {
    /// The component's name, first in the error message.
    let component: String
    let program: String
    /// The chatmail.ini key that takes `URL SHA256`.
    let key: String
    /// What the key must name, for the error message.
    let artifact: String
    let pinned: PinnedDownload?
    let override: @Sendable (ChatmailConfig) -> PinnedDownload?

    /// Where it comes from: the chatmail.ini override, else the pin.
    func source(_ config: ChatmailConfig) -> PinnedDownload? {
        override(config) ?? pinned
    }

    /// The source, or an error naming the key to set.
    func download(_ config: ChatmailConfig) throws -> PinnedDownload {
        guard let download = source(config) else {
            throw ManifestError(message: """
                \(component): no pinned download of \(program) is known; set \(key) = URL SHA256 \
                in \(config.path) (the \(artifact) for the relay's architecture and its sha256)
                """)
        }
        return download
    }
}

/// The pinned programs, side by side. Neither upstream records a checksum
/// here yet, so the operator pins one with the chatmail.ini key.
extension PinnedProgram {
    /// iroh-relay v0.35.0: a tar archive per architecture (`Iroh`).
    static let iroh = PinnedProgram(
        component: "iroh", program: "iroh-relay", key: "iroh_relay_download",
        artifact: "iroh-relay-v0.35.0-<arch>-unknown-linux-musl.tar.gz release archive",
        pinned: nil, override: { $0.irohRelayDownload })
    /// chatmail-turn v0.4: one binary per architecture (`Turn`).
    static let turn = PinnedProgram(
        component: "turn", program: "chatmail-turn", key: "turn_download",
        artifact: "chatmail-turn-<arch>-linux v0.4 release binary",
        pinned: nil, override: { $0.turnDownload })
}
