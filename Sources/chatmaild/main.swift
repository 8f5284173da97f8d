import Chatmaild
#if canImport(Glibc)
import Glibc
#endif

// chatmaild: one binary for all of the relay's own services.
// Each service is a subcommand; a symlink named after a service (such as
// chatmail-quota-expire) runs that service directly.
exit(ChatmaildMain.run(invokedAs: CommandLine.arguments.first ?? "chatmaild",
                       arguments: Array(CommandLine.arguments.dropFirst())))
