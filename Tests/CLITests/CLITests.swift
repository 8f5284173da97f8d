import Foundation
import Testing

/// Runs the built `cmdeploy` binary the way an operator does and checks
/// messages and exit codes, which follow the Python `cmdeploy` (for example
/// exit 1 when chatmail.ini is missing or `init` would overwrite it).
struct CLI {
    static let binary: URL = {
        // The test bundle lives in the same build folder as the executables.
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for dir in [here, here.deletingLastPathComponent()] {
            let candidate = dir.appendingPathComponent("cmdeploy")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../.build/debug/cmdeploy").standardized
    }()

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    static func run(_ args: [String], in dir: URL, env: [String: String] = [:]) throws -> Result {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        p.currentDirectoryURL = dir
        var environment = ProcessInfo.processInfo.environment
        environment["CHATMAIL_INI"] = nil
        environment.merge(env) { $1 }
        p.environment = environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: e, as: UTF8.self))
    }

    static func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }
}

@Suite struct CLITests {
    @Test func noSubcommandPrintsHelpAndSucceeds() throws {
        let r = try CLI.run([], in: CLI.tempDir())
        #expect(r.status == 0)
        #expect(r.stdout.contains("USAGE: cmdeploy"))
        for sub in ["init", "run", "dns", "status", "test", "bench", "webdev"] {
            #expect(r.stdout.contains("  \(sub) "), "help lists \(sub)")
        }
    }

    /// The version is baked in at build time (scripts/stamp-revision): a
    /// copy of the binary outside the checkout names the same commit as the
    /// binary in its build folder, where git could also be asked.
    @Test func aCopiedBinaryKnowsItsVersion() throws {
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("cmdeploy")
        try FileManager.default.copyItem(at: CLI.binary, to: copy)
        let inPlace = try CLI.run(["--version"], in: dir)
        let p = Process()
        p.executableURL = copy
        p.arguments = ["--version"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let copied = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(inPlace.stdout.hasPrefix("0.1.0 ("))
        #expect(copied == inPlace.stdout,
                "the copy says \(copied), the build folder's binary \(inPlace.stdout): build after scripts/stamp-revision")
        #expect(!copied.contains("unknown"), "unstamped build: run scripts/stamp-revision before building")
    }

    /// Help requests are the argument parser's to print: on stdout, exit 0,
    /// never the debug description of its internal help request.
    @Test(arguments: [
        (["--help"], "Deploy and operate a chatmail relay from one chatmail.ini."),
        (["run", "--help"], "Deploy the relay described by chatmail.ini to its host."),
        (["help", "run"], "Deploy the relay described by chatmail.ini to its host."),
    ])
    func helpPrintsTheCommandsHelp(_ args: [String], abstract: String) throws {
        let r = try CLI.run(args, in: CLI.tempDir())
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("USAGE:"), "\(r.stdout)")
        #expect(r.stdout.contains(abstract), "\(r.stdout)")
        #expect(!(r.stdout + r.stderr).contains("CommandError"), "\(r.stdout)\(r.stderr)")
    }

    @Test func initWritesRefusesAndForces() throws {
        let dir = try CLI.tempDir()
        let first = try CLI.run(["init", "chat.example.org"], in: dir)
        #expect(first.status == 0)
        #expect(first.stderr == "created config file for chat.example.org in chatmail.ini\n")
        let written = try String(contentsOf: dir.appendingPathComponent("chatmail.ini"), encoding: .utf8)

        let again = try CLI.run(["init", "other.example.org"], in: dir)
        #expect(again.status == 1)
        #expect(again.stdout == "[WARNING] Path exists, not modifying: chatmail.ini\n")
        #expect(try String(contentsOf: dir.appendingPathComponent("chatmail.ini"), encoding: .utf8) == written)

        let forced = try CLI.run(["init", "other.example.org", "--force", "--config", "chatmail.ini"], in: dir)
        #expect(forced.status == 0)
        #expect(forced.stdout == "[WARNING] Force argument was provided, deleting config file: chatmail.ini\n")
        let replaced = try String(contentsOf: dir.appendingPathComponent("chatmail.ini"), encoding: .utf8)
        #expect(replaced.contains("mail_domain = other.example.org"))
    }

    @Test func initHonoursCHATMAIL_INI() throws {
        let dir = try CLI.tempDir()
        let r = try CLI.run(["init", "chat.example.org"], in: dir, env: ["CHATMAIL_INI": "custom.ini"])
        #expect(r.status == 0)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("custom.ini").path))
    }

    @Test func initValidatesTheDomain() throws {
        let dir = try CLI.tempDir()
        let r = try CLI.run(["init", "https://chat.example.org"], in: dir)
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("invalid domain: \"https://chat.example.org\" is not a domain name"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("chatmail.ini").path))
    }

    @Test(arguments: ["run", "dns", "status", "test", "bench", "webdev"])
    func commandsNeedAnExistingConfig(_ sub: String) throws {
        let r = try CLI.run([sub, "--config", "missing.ini"], in: CLI.tempDir())
        #expect(r.status == 1)
        #expect(r.stderr == "expecting missing.ini to exist, run init first?\n")
    }

    @Test func invalidConfigFailsWithTheParseError() throws {
        let dir = try CLI.tempDir()
        try "[params]\nmail_domain = chat.example.org\nmax_message_size = 30M\n"
            .write(to: dir.appendingPathComponent("chatmail.ini"), atomically: true, encoding: .utf8)
        let r = try CLI.run(["status"], in: dir, env: ["NO_COLOR": "1"])
        #expect(r.status == 1)
        #expect(r.stderr == "chatmail.ini:3: max_message_size: expected a whole number of bytes, got \"30M\"\n")
    }

    @Test func noColourWhenNotATerminal() throws {
        let r = try CLI.run(["init", "chat.example.org"], in: CLI.tempDir())
        #expect(!r.stderr.contains("\u{1B}["))
    }

    /// Stages are checked by the argument parser: a typo is a usage error
    /// (exit 64, the usage printed) before chatmail.ini is read or a host
    /// is contacted; the same for CMDEPLOY_STAGES.
    @Test func unknownStageIsAUsageError() throws {
        let dir = try CLI.tempDir()
        let r = try CLI.run(["run", "--stages", "install,confgure", "--config", "missing.ini"], in: dir)
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stderr.contains("--stages") && r.stderr.contains("install,confgure"), "\(r.stderr)")
        #expect(!r.stderr.contains("missing.ini"))

        let env = try CLI.run(["run", "--config", "missing.ini"], in: dir, env: ["CMDEPLOY_STAGES": "activ"])
        #expect(env.status == 64, "\(env.stderr)")
        #expect(env.stderr.contains("CMDEPLOY_STAGES=activ: expected a comma-separated list of install, configure, activate"),
                "\(env.stderr)")
    }

    @Test func aHostThatCannotBeReachedIsNamed() throws {
        let dir = try CLI.tempDir()
        _ = try CLI.run(["init", "chat.example.org"], in: dir)
        // A port nothing listens on: refused at once, no DNS needed.
        let r = try CLI.run(["status", "--ssh-host", "root@127.0.0.1:1"], in: dir, env: ["NO_COLOR": "1"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("127.0.0.1"), "\(r.stderr)")
    }
}
