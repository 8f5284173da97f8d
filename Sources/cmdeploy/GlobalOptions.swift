import ArgumentParser
import ChatmailConfig
#if canImport(Glibc)
import Glibc
#endif

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: ArgumentHelp(
        "Path of chatmail.ini (default: $CHATMAIL_INI, else ./chatmail.ini).", valueName: "path"))
    var configPath: String?

    @Flag(name: .shortAndLong, help: "Print more detail about what is done.")
    var verbose = false

    /// The ini path as the operator gave it (messages repeat it verbatim).
    var iniPath: String {
        if let configPath { return configPath }
        if let env = getenv("CHATMAIL_INI"), !String(cString: env).isEmpty { return String(cString: env) }
        return "chatmail.ini"
    }

    /// Loads chatmail.ini for commands that need it; prints warnings and
    /// turns a missing or invalid file into exit code 1.
    func loadConfig() throws -> ChatmailConfig {
        let path = iniPath
        guard fileExists(path) else {
            Console.error("expecting \(path) to exist, run init first?")
            throw ExitCode(1)
        }
        do {
            let config = try ChatmailConfig.load(path: path)
            for warning in config.warnings {
                Console.warn("warning: \(warning)")
            }
            return config
        } catch {
            Console.error(error.description)
            throw ExitCode(1)
        }
    }
}

/// `--ssh-host`, shared by the commands that talk to the relay.
struct SSHHostOption: ParsableArguments {
    @Option(name: .customLong("ssh-host"), help: ArgumentHelp(
        "Run commands on 'localhost' (or '@local') or on this SSH host instead of chatmail.ini's mail_domain.",
        valueName: "host"))
    var sshHost: String?

    /// Where to connect: the option, else the bare mail_domain.
    func target(for config: ChatmailConfig) -> String {
        sshHost ?? config.mailDomainBare
    }
}
