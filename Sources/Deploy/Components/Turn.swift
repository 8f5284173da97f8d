import ChatmailConfig
import Engine
import Remote

/// chatmail-turn, the STUN/TURN server whose credentials chatmail-metadata
/// hands to clients: it listens on UDP 3478 and writes one `user:password`
/// line to whoever connects to its UNIX socket.
public struct Turn: Component {
    public let name = "turn"
    public init() {}

    static let binary = "/usr/local/bin/chatmail-turn"
    static let unit = "/etc/systemd/system/turnserver.service"

    /// chatmail-turn v0.4 ships one binary per architecture; no checksum of
    /// it is recorded here yet, so the operator pins one with `turn_download`.
    static let pinned: PinnedDownload? = nil

    /// Where the binary comes from: the chatmail.ini override, else the pin.
    public static func source(_ config: ChatmailConfig) -> PinnedDownload? {
        config.turnDownload ?? pinned
    }

    public func manifest(_ context: DeployContext) throws -> Manifest {
        let config = context.config
        guard let download = Turn.source(config) else {
            throw ManifestError(message: """
                turn: no pinned download of chatmail-turn is known; set turn_download = URL SHA256 \
                in \(config.path) (the chatmail-turn-<arch>-linux v0.4 release binary for the relay's \
                architecture and its sha256)
                """)
        }
        let unitText = try Templates.render("turn/turnserver.service.mustache", [
            "realm": config.mailDomainBare, "socket": config.turnSocketPath,
        ])
        return Manifest {
            // The host fetches the download with curl.
            Package("curl")
            Download(download.url, sha256: download.sha256, to: Turn.binary)
            File(Turn.unit, text: unitText)
            Service("turnserver", restartOn: [Turn.binary, Turn.unit])
        }
    }

    public func listeners(_ context: DeployContext) -> [Listener] {
        [Listener(3478, .udp, process: "chatmail-turn", purpose: "STUN/TURN")]
    }
}
