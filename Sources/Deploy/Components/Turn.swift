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
    /// Its own user and group (Base creates them); chatmail-metadata joins
    /// the group to reach the credentials socket.
    static let user = "chatmail-turn"
    static let runtimeDir = "/run/chatmail-turn"

    public func manifest(_ context: DeployContext) throws -> Manifest {
        let config = context.config
        let download = try PinnedProgram.turn.download(context)
        // The socket's folder is writable: its runtime directory, or the
        // folder of a turn_socket_path elsewhere (when it exists).
        var sandbox = Sandbox.network
        sandbox.umask = "0007"
        let socketDir = dirname(config.turnSocketPath)
        if socketDir != Turn.runtimeDir { sandbox.writable = ["-" + socketDir] }
        let unitText = try Templates.render("turn/turnserver.service.mustache", [
            "realm": config.mailDomainBare, "socket": config.turnSocketPath, "user": Turn.user,
            "sandbox": try sandbox.render(),
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
