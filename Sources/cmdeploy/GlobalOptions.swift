import ArgumentParser
import ChatmailConfig
import Deploy
#if canImport(Glibc)
import Glibc
import Remote
import Support
#endif

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: ArgumentHelp(
        "Path of chatmail.ini (default: $CHATMAIL_INI, else ./chatmail.ini).", valueName: "path"),
        completion: .file(extensions: ["ini"]))
    var configPath: String?

    @Flag(name: .shortAndLong, help: "Print more detail about what is done.")
    var verbose = false

    /// The ini path as the operator gave it (messages repeat it verbatim).
    var iniPath: String {
        if let configPath { return configPath }
        if let env = getenv("CHATMAIL_INI"), !String(cString: env).isEmpty { return String(cString: env) }
        return "chatmail.ini"
    }

    /// " --config PATH" when the operator gave one, for the commands a
    /// message suggests (so they can be pasted as they are).
    var configFlag: String {
        guard let configPath else { return "" }
        return " --config " + shellQuote(configPath)
    }

    /// Loads chatmail.ini for commands that need it and prints its
    /// warnings; its errors name the file, line and key.
    func loadConfig() throws -> ChatmailConfig {
        let path = iniPath
        guard fileExists(path) else {
            throw CommandFailure("expecting \(path) to exist, run init first?")
        }
        let config = try ChatmailConfig.load(path: path)
        for warning in config.warnings {
            Console.warn("warning: \(warning)")
        }
        return config
    }
}

/// `--ssh-host` and how to reach it, shared by the commands that talk to the relay.
struct SSHHostOption: ParsableArguments {
    @Option(name: .customLong("ssh-host"), help: ArgumentHelp(
        "Run commands on 'localhost' (or '@local') or on this SSH host instead of chatmail.ini's mail_domain.",
        valueName: "host"),
        completion: .shellCommand(SSHHostOption.hostsFromSSHConfig))
    var sshHost: String?

    @Option(name: .customLong("ssh-config"), help: ArgumentHelp(
        "Read this ssh_config instead of ~/.ssh/config and /etc/ssh/ssh_config (default: $CMDEPLOY_SSH_CONFIG).",
        valueName: "path"),
        completion: .file())
    var sshConfig: String?

    @Flag(name: .customLong("accept-new-host-key"), help: ArgumentHelp(
        "Trust and record the host key of a host never seen before (a changed key is always refused)."))
    var acceptNewHostKey = false

    /// Completion candidates for --ssh-host: the literal names of `Host`
    /// lines in the operator's ssh_config (patterns left out), and localhost.
    static let hostsFromSSHConfig = "{ echo localhost; awk 'tolower($1) == \"host\" { for (i = 2; i <= NF; i++) "
        + "if ($i !~ /[*?!]/) print $i }' \"${CMDEPLOY_SSH_CONFIG:-$HOME/.ssh/config}\" 2>/dev/null; }"

    /// Where to connect: the option, else the bare mail_domain.
    func target(for config: ChatmailConfig) -> String {
        sshHost ?? config.mailDomainBare
    }

    /// The SSH settings from the options and the environment
    /// (CMDEPLOY_SSH_CONFIG, CMDEPLOY_SSH_PASSPHRASE).
    var sshOptions: SSHOptions {
        var options = SSHOptions()
        options.configFile = sshConfig ?? environment("CMDEPLOY_SSH_CONFIG")
        options.acceptNewHostKey = acceptNewHostKey
        options.passphrase = environment("CMDEPLOY_SSH_PASSPHRASE")
        return options
    }

    /// Opens the host (SSH or local); its errors name the host.
    func connect(_ target: String, verbose: Bool) throws -> Host {
        if verbose { Console.warn(LocalHost.isLocal(target) ? "[local] running on this machine" : "[ssh] login to \(target)") }
        let host = try openHost(target, options: sshOptions)
        if let ssh = host as? SSHHost {
            for warning in ssh.config.warnings { Console.warn("warning: \(warning)") }
        }
        return host
    }
}

private func environment(_ name: String) -> String? {
    guard let value = getenv(name), value.pointee != 0 else { return nil }
    return String(cString: value)
}
