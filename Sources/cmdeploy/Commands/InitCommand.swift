import ArgumentParser
import ChatmailConfig
import Deploy

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a new chatmail.ini for DOMAIN, with every setting documented.")

    @Argument(help: ArgumentHelp("The relay's domain name (or IPv4 address).", valueName: "chatmail_domain"))
    var domain: String

    @Flag(help: "Replace an existing chatmail.ini.")
    var force = false

    @OptionGroup var global: GlobalOptions

    func run() throws {
        if let problem = InitialConfig.domainProblem(domain) {
            throw CommandFailure("invalid domain: \(problem)")
        }
        let path = global.iniPath
        switch try IniWriter.write(path: path, domain: domain, force: force) {
        case .refusedExisting:
            Console.out("[WARNING] Path exists, not modifying: \(path)")
            throw ExitCode(1)
        case .replaced:
            Console.out("[WARNING] Force argument was provided, deleting config file: \(path)")
        case .created:
            break
        }
        Console.success("created config file for \(domain) in \(path)")
    }
}
