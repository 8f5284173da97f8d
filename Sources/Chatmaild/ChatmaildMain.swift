#if canImport(Glibc)
import Glibc
#endif
import ChatmailConfig

/// Subcommand dispatch for the chatmaild binary. Services are added here as
/// they are built; unknown subcommands print the usage and fail.
public enum ChatmaildMain {
    public static let usage = """
        usage: chatmaild <service> [arguments]

        The chatmail relay's server services, one binary for all of them.
        Services:
          filtermail <chatmail.ini> <outgoing|incoming>
        """

    public static func run(arguments: [String]) -> Int32 {
        guard let first = arguments.first, first != "-h", first != "--help" else {
            print(usage)
            return arguments.isEmpty ? 2 : 0
        }
        switch first {
        case "filtermail": return FiltermailCommand.run(arguments: Array(arguments.dropFirst()))
        default: break
        }
        fputs("chatmaild: unknown service \"\(first)\"\n\n\(usage)\n", stderr)
        return 2
    }
}
