import ChatmailConfig
#if canImport(Glibc)
import Glibc
#endif

/// A failure that ends a service with a message for the operator.
public struct ServiceError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

enum ServiceSetup {
    /// Loads chatmail.ini, printing its warnings; errors name the file and line.
    static func config(_ path: String) throws -> ChatmailConfig {
        do {
            let config = try ChatmailConfig.load(path: path)
            for w in config.warnings { Log.warning(w.description) }
            return config
        } catch {
            throw ServiceError(error.description)
        }
    }

    /// `<socket> <ini>`, the arguments of every dict service.
    static func socketAndConfig(_ args: [String], service: String) throws -> (String, ChatmailConfig) {
        guard args.count == 2 else {
            throw ServiceError("usage: chatmaild \(service) <socket-path> <chatmail.ini>")
        }
        return (args[0], try config(args[1]))
    }

    /// Runs a dict service until the process is stopped.
    static func serve(_ service: DictService, socket: String, name: String) throws {
        let server = DictServer(socketPath: socket)
        do {
            try server.start(service: service)
        } catch {
            throw ServiceError("\(name): cannot listen on \(socket): \(error)")
        }
        Log.info("\(name) listening on \(socket)\(server.activated ? " (socket from systemd)" : "")")
        server.serveUntilTerminated(name: name)
    }
}
