#if canImport(Glibc)
import Glibc
#endif
import ChatmailConfig
import NIOCore
import NIOPosix

/// `chatmaild filtermail <chatmail.ini> <outgoing|incoming>`, the command
/// line of the relay's filtermail (`filtermail <ini> <mode>`), so the systemd
/// units keep their ExecStart shape.
enum FiltermailCommand {
    static let usage = """
        usage: chatmaild filtermail <chatmail.ini> <mode>

        The encryption gate between Postfix and the world. Modes:
          outgoing   mail from our users (listens on filtermail_smtp_port)
          incoming   mail from other servers (listens on filtermail_smtp_port_incoming,
                     and for POST /mxdeliv from nginx on filtermail_http_port_incoming)
        """

    static func run(arguments: [String]) -> Int32 {
        guard arguments.count == 2 else {
            Log.toStderr(usage + "\n")
            return 1
        }
        let (path, modeName) = (arguments[0], arguments[1])
        guard let mode = FilterMode(rawValue: modeName) else {
            let hint = modeName == "transport" ? " (transport mode is not part of chatmaild yet)" : ""
            Log.toStderr("chatmaild filtermail: unknown mode \"\(modeName)\"\(hint)\n\n\(usage)\n")
            return 1
        }
        let config: ChatmailConfig
        do {
            config = try ChatmailConfig.load(path: path)
        } catch {
            Log.toStderr("chatmaild filtermail: \(error)\n")
            return 1
        }
        let settings = FiltermailSettings(config: config, mode: mode)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        do {
            let server = try FiltermailServer.start(settings: settings, group: group).wait()
            // The relay's tests wait for this first line ("loop").
            Log.info("entering serving loop")
            Log.info("filtermail \(mode.rawValue): listening on \(settings.listenHost):\(server.port), re-injecting to \(settings.reinjectHost):\(settings.reinjectPort)")
            if let http = server.httpPort {
                Log.info("filtermail incoming: /mxdeliv on http://\(settings.listenHost):\(http)")
            }
            // systemd's stop or restart: finish the messages already read.
            if Termination.wait(orUntil: server.closeFuture) {
                server.closeListeners()
                let left = server.drain.stopReadingAndWait(timeout: 30)
                if left == 0 {
                    Log.info("filtermail \(mode.rawValue) stopped: every message read was answered")
                } else {
                    Log.info("filtermail \(mode.rawValue) stopped with \(left) message(s) unanswered after 30 s")
                }
            }
        } catch {
            let ports = [settings.listenPort] + (settings.httpListenPort.map { [$0] } ?? [])
            Log.toStderr("chatmaild filtermail: cannot listen on \(settings.listenHost) port \(ports.map(String.init).joined(separator: " or ")): \(error)\n")
            return 1
        }
        return 0
    }
}
