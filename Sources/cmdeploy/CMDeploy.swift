import ArgumentParser

@main
struct CMDeploy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cmdeploy",
        abstract: "Deploy and operate a chatmail relay from one chatmail.ini.",
        discussion: """
            Typical first deploy:
              cmdeploy init chat.example.org     write chatmail.ini
              cmdeploy run                       deploy to the host over SSH (as root)
              cmdeploy dns                       show the DNS records still missing

            chatmail.ini is taken from --config, else $CHATMAIL_INI, else ./chatmail.ini.
            Commands reach the relay over SSH as root (see README, "SSH access"); \
            --ssh-host localhost runs them on this machine instead. Use an ed25519 or ECDSA \
            key: libssh2 1.10 (Debian 12) signs with RSA keys only using SHA-1, which current \
            OpenSSH servers refuse.
            """,
        version: "0.1.0",
        subcommands: [
            InitCommand.self, RunCommand.self, DNSCommand.self, StatusCommand.self,
            TestCommand.self, BenchCommand.self, WebdevCommand.self, SSHCheckCommand.self,
        ])

    // No subcommand: print the help and succeed, as the Python tool does.
    func run() throws {
        print(CMDeploy.helpMessage())
    }
}
