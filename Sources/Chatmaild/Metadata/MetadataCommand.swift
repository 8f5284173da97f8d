import ChatmailConfig
import NIOPosix

extension MetadataService {
    /// Builds the service with its notifier on its own event loop.
    static func make(config: ChatmailConfig, delayScale: Double = 1) throws -> MetadataService {
        guard Files.isDirectory(config.mailboxesDir) else {
            throw ServiceError("vmail dir does not exist: \(config.mailboxesDir)")
        }
        let queueDir = config.mailboxesDir + "/pending_notifications"
        guard Files.makeDirectories(queueDir) else {
            throw ServiceError("cannot create \(queueDir): \(Files.errorText)")
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let poster = try HTTPPoster(url: config.notificationURL, group: group)
        let tokens = TokenStore(mailboxes: Mailboxes(dir: config.mailboxesDir, domain: config.mailDomain))
        let notifier = Notifier(queueDir: queueDir, tokens: tokens, loop: group.next(), delayScale: delayScale) {
            poster.post($0)
        }
        notifier.recover()
        let iniDir = config.path.contains("/") ? String(config.path[..<config.path.lastIndex(of: "/")!]) : "."
        return MetadataService(
            config: config, tokens: tokens, notifier: notifier,
            turn: TurnClient(socketPath: config.turnSocketPath, group: group),
            appVersionsPath: iniDir + "/appversions.json")
    }

    /// `chatmaild metadata <socket> <ini>`
    static func main(_ args: [String]) throws {
        let (socket, config) = try ServiceSetup.socketAndConfig(args, service: "metadata")
        try ServiceSetup.serve(try make(config: config), socket: socket, name: "chatmail-metadata")
    }
}
