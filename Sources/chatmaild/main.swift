import Chatmaild
#if canImport(Glibc)
import Glibc
#endif

// chatmaild: one binary for all of the relay's own services.
// Each service is a subcommand; systemd units name the one they run.
exit(ChatmaildMain.run(arguments: Array(CommandLine.arguments.dropFirst())))
