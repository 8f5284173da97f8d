import ChatmailConfig
import Engine

/// A program the relay fetches by URL and sha256: the chatmail.ini key that
/// overrides it, else the upstream pin for the relay's architecture. One
/// lookup and one refusal for every such component (Iroh, Turn), so their
/// messages stay alike.
struct PinnedProgram: Sendable {
    /// The component's name, first in the error message.
    let component: String
    let program: String
    /// The chatmail.ini key that takes `URL SHA256`.
    let key: String
    /// What the key must name, for the error message.
    let artifact: String
    /// Upstream's pins by `uname -m` architecture (`UpstreamPins`).
    let pinned: [String: PinnedDownload]
    let override: @Sendable (ChatmailConfig) -> PinnedDownload?

    /// Where it comes from: the chatmail.ini override, else the pin for the
    /// relay's architecture; nil when neither exists.
    func source(_ context: DeployContext) -> PinnedDownload? {
        override(context.config) ?? pinned[context.architecture]
    }

    /// The source, or an error naming the key to set.
    func download(_ context: DeployContext) throws -> PinnedDownload {
        guard let download = source(context) else {
            throw ManifestError(message: """
                \(component): no pinned download of \(program) for \(context.architecture) is known; \
                set \(key) = URL SHA256 in \(context.config.path) (the \(artifact) and its sha256)
                """)
        }
        return download
    }

    /// Why the component is left out, for `Relay.omissions`; nil when it is not.
    func omission(_ context: DeployContext, what: String) -> String? {
        guard source(context) == nil else { return nil }
        return "\(what) is not installed: there is no pinned \(program) build for \(context.architecture); "
            + "set \(key) = URL SHA256 in \(context.config.path)"
    }
}

/// The pinned programs, side by side.
extension PinnedProgram {
    /// iroh-relay v0.35.0: a tar archive per architecture (`Iroh`).
    static let iroh = PinnedProgram(
        component: "iroh", program: "iroh-relay", key: "iroh_relay_download",
        artifact: "iroh-relay-v0.35.0-<arch>-unknown-linux-musl.tar.gz release archive",
        pinned: UpstreamPins.iroh, override: { $0.irohRelayDownload })
    /// chatmail-turn v0.4: one binary per architecture (`Turn`).
    static let turn = PinnedProgram(
        component: "turn", program: "chatmail-turn", key: "turn_download",
        artifact: "chatmail-turn-<arch>-linux v0.4 release binary",
        pinned: UpstreamPins.turn, override: { $0.turnDownload })
}
