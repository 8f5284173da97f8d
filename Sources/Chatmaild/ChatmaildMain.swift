#if canImport(Glibc)
import Glibc
#endif

/// Subcommand dispatch for the chatmaild binary: one row per service.
/// The Python relay's script names are accepted as aliases so unit files
/// and Dovecot settings read the same as before.
public enum ChatmaildMain {
    struct Service: Sendable {
        let name: String
        let aliases: [String]
        let summary: String
        let run: @Sendable ([String]) throws -> Int32
    }

    static let services: [Service] = [
        Service(name: "doveauth", aliases: [], summary: "<socket> <ini>  Dovecot passdb/userdb, creates accounts on first login") {
            try DoveAuth.main($0); return 0
        },
        Service(name: "lastlogin", aliases: [], summary: "<socket> <ini>  records the last-login day") {
            try LastLogin.main($0); return 0
        },
        Service(name: "metadata", aliases: ["chatmail-metadata"], summary: "<socket> <ini>  IMAP METADATA and push notifications") {
            try MetadataService.main($0); return 0
        },
        Service(name: "expire", aliases: ["chatmail-expire"], summary: "[ini] [--days N] [--maxnum N] [-v] [--remove|--dry-run]  daily expiry") {
            try Expire.main($0)
        },
        Service(name: "quota-expire", aliases: ["chatmail-quota-expire"], summary: "<target_mb> <mailbox> [--dry-run]  Dovecot quota_warning hook") {
            try Expire.quotaMain($0)
        },
        Service(name: "fsreport", aliases: ["chatmail-fsreport"], summary: "[ini] [--textfile PATH] ...  storage and login report") {
            try FSReport.main($0)
        },
        Service(name: "newemail", aliases: ["newemail.py"], summary: "[ini]  the /new CGI program for fcgiwrap") {
            NewEmail.main($0)
        },
        Service(name: "filtermail", aliases: [], summary: "<ini> <outgoing|incoming>  the encryption gate behind Postfix") {
            FiltermailCommand.run(arguments: $0)
        },
    ]

    public static var usage: String {
        var text = "usage: chatmaild <service> [arguments]\n       chatmaild --version\n\n"
        text += "The chatmail relay's server services, one binary for all of them:\n"
        for s in services { text += "  \(s.name) \(s.summary)\n" }
        return text
    }

    /// Runs the service named by the program name if it is one (a symlink
    /// such as `chatmail-quota-expire`), otherwise the first argument.
    public static func run(invokedAs program: String, arguments: [String]) -> Int32 {
        let name = program.split(separator: "/").last.map(String.init) ?? program
        if let s = services.first(where: { $0.name == name || $0.aliases.contains(name) }) {
            return run(arguments: [s.name] + arguments)
        }
        return run(arguments: arguments)
    }

    public static func run(arguments: [String]) -> Int32 {
        guard let first = arguments.first, first != "-h", first != "--help" else {
            print(usage, terminator: "")
            return arguments.isEmpty ? 2 : 0
        }
        if first == "--version" {
            print(ChatmaildVersion.line)
            return 0
        }
        guard let service = services.first(where: { $0.name == first || $0.aliases.contains(first) }) else {
            Log.toStderr("chatmaild: unknown service \"\(first)\"\n\n\(usage)")
            return 2
        }
        do {
            return try service.run(Array(arguments.dropFirst()))
        } catch {
            Log.toStderr("chatmaild \(service.name): \(error)\n")
            return 1
        }
    }
}
