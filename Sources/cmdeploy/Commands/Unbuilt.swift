import ArgumentParser
import ChatmailConfig

// Commands whose work is not built yet. They already check chatmail.ini, so
// operators get the same errors they will get once the command exists.

func notBuiltYet(_ name: String) -> ExitCode {
    Console.error("cmdeploy \(name): not built yet in this version of cmdeploy")
    return ExitCode(2)
}

struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test", abstract: "Run the online test suite against the deployed relay.")

    @OptionGroup var host: SSHHostOption
    @OptionGroup var global: GlobalOptions

    func run() throws {
        _ = try global.loadConfig()
        throw notBuiltYet("test")
    }
}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure the deployed relay's speed.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        _ = try global.loadConfig()
        throw notBuiltYet("bench")
    }
}
