import ArgumentParser
import ChatmailConfig

// Commands whose work is not built yet. They already check chatmail.ini, so
// operators get the same errors they will get once the command exists.

func notBuiltYet(_ name: String) -> ExitCode {
    Console.error("cmdeploy \(name): not built yet in this version of cmdeploy")
    return ExitCode(2)
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Report the relay's health: services, ports, certificates, queue, disk.")

    @OptionGroup var host: SSHHostOption
    @OptionGroup var global: GlobalOptions

    func run() throws {
        _ = try global.loadConfig()
        throw notBuiltYet("status")
    }
}
