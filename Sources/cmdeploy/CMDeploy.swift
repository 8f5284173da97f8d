import ArgumentParser
import Deploy
import Foundation

@main
struct CMDeploy: AsyncParsableCommand {
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
        version: "0.1.0 (\(Deployment.buildRevision))",
        subcommands: [
            InitCommand.self, RunCommand.self, DNSCommand.self, StatusCommand.self,
            TestCommand.self, BenchCommand.self, WebdevCommand.self, SSHCheckCommand.self,
        ])

    // No subcommand: print the help and succeed, as the Python tool does.
    func run() async throws {
        print(CMDeploy.helpMessage())
    }

    /// The one place where errors become exit codes. Usage errors (and
    /// --help, --version) are ArgumentParser's to print; a command that has
    /// already said what went wrong throws `ExitCode`; any other error is
    /// printed as it describes itself (file, line, key or host included)
    /// and exits 1.
    static func main() async {
        let command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                var command = command
                try command.run()
            }
        } catch let error as ExitCode {
            exit(withError: error)
        } catch let error as CleanExit {
            exit(withError: error)
        } catch let error as ValidationError {
            exit(withError: error)
        } catch let error as CommandFailure {
            Console.error(error.message)
            exit(withError: ExitCode(1))
        } catch let error where CMDeploy.exitCode(for: error) == .success {
            // `--help` and `help <command>`: parseAsRoot() returns the
            // parser's own help command, whose run() throws a help request
            // of a type internal to ArgumentParser; only it can print that.
            exit(withError: error)
        } catch {
            Console.error("\(error)")
            exit(withError: ExitCode(1))
        }
    }
}

/// A command's failure, said in its own words: printed as it is, exit code 1.
struct CommandFailure: Error, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
