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

    public func manifest(_ context: DeployContext) throws -> Manifest {
        let config = context.config
        let download = try PinnedProgram.turn.download(context)
        let unitText = try Templates.render("turn/turnserver.service.mustache", [
            "realm": config.mailDomainBare, "socket": config.turnSocketPath,
        ])
        return Manifest {
            // The host fetches the download with curl.
            Package("curl")
            Download(download.url, mirrors: download.mirrors, sha256: download.sha256, to: Turn.binary)
            File(Turn.unit, text: unitText)
            Service("turnserver", restartOn: [Turn.binary, Turn.unit])
        }
    }

    public func listeners(_ context: DeployContext) -> [Listener] {
        [Listener(3478, .udp, process: "chatmail-turn", purpose: "STUN/TURN")]
    }
}
