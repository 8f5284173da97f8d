import ArgumentParser
import ChatmailConfig
import Deploy
import Foundation
import Engine

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Deploy the relay described by chatmail.ini to its host.",
        discussion: """
            cmdeploy reads the host's current state in one go, prints what differs, and
            changes only that: packages in one apt call, files staged and checked by the
            daemons themselves before they replace the live ones, restarts only for
            services whose inputs changed. A second run with the same chatmail.ini
            changes nothing.

            --dry-run prints the plan and changes nothing; --diff adds the content
            changes of config files (secrets are never shown); --json prints the plan
            and then one JSON object per step, for CI pipelines.
            """)

    @Flag(help: "Print what would change, change nothing.") var dryRun = false
    @Flag(help: "Show the content changes of config files (never of secrets).") var diff = false
    @Flag(help: "Print the plan and progress as JSON lines (for CI pipelines).") var json = false
    @Flag(help: "Deploy everything but keep Postfix and Dovecot stopped (for migrations).") var disableMail = false
    @Flag(help: "Only build and upload the web pages.") var websiteOnly = false
    @Flag(help: "Skip the DNS check before deploying.") var skipDnsCheck = false
    @Option(help: ArgumentHelp(
        "Stages to run: install,configure,activate (default: $CMDEPLOY_STAGES, else all). "
            + "A migration prepares a new host with install,configure and activates it later.",
        valueName: "list"),
        completion: .list(["install", "configure", "activate", "install,configure", "configure,activate"]))
    var stages: StageList?
    @Option(help: ArgumentHelp(
        "The chatmaild binary to install (default: $CMDEPLOY_CHATMAILD_BINARY, else the chatmaild next to cmdeploy).",
        valueName: "path"),
        completion: .file())
    var chatmaildBinary: String?
    @OptionGroup var host: SSHHostOption
    @OptionGroup var global: GlobalOptions

    mutating func validate() throws {
        // The environment's stages stand in for the option and are checked
        // like it: a typo is a usage error.
        if stages == nil, let text = ProcessInfo.processInfo.environment["CMDEPLOY_STAGES"], !text.isEmpty {
            guard let parsed = StageList(argument: text) else {
                throw ValidationError("CMDEPLOY_STAGES=\(text): \(StageList.expected)")
            }
            stages = parsed
        }
    }

    func run() throws {
        let config = try global.loadConfig()
        var options = RelayDeployment.Options()
        options.dryRun = dryRun
        options.withContent = diff || global.verbose
        options.disableMail = disableMail
        options.websiteOnly = websiteOnly
        options.checkDNS = !skipDnsCheck
        options.chatmaildBinary = chatmaildBinary
        options.stages = stages?.stages ?? Set(Stage.allCases)
        let printer = EventPrinter(mode: json ? .json : (Console.isTerminal ? .terminal : .plain))
        let outcome: RelayDeployment.Outcome
        do {
            let remote = try host.connect(host.target(for: config), verbose: global.verbose)
            defer { remote.close() }
            if global.verbose && !skipDnsCheck && !config.isIPv4Relay { Console.warn("[\(remote.name)] Collecting initial DNS settings.") }
            outcome = try RelayDeployment(config: config, options: options).run(on: remote) { event in
                switch event {
                case .note(let text, let warning): printer.note(warning ? "warning: " + text : text)
                case .plan(let plan, let desired, let probe): printer.plan(plan, desired: desired, probe: probe, diff: options.withContent)
                case .engine(let e): printer.handle(e)
                }
            }
            printer.finish(outcome.summary)
        } catch let error as RelayDeployment.DNSNotReady {
            for line in error.problems { Console.error(line) }
            throw ExitCode(1)
        } catch {
            printer.failed("\(error)")
            throw CommandFailure("Deploy failed")
        }
        if dryRun { return }
        if websiteOnly {
            Console.success("Website deployment completed.")
        } else {
            let lines = DeployClosing.lines(config, facts: outcome.closing, configFlag: global.configFlag)
            // --json keeps stdout to JSON lines: the closing is one more event.
            if json { printer.closing(lines) } else { printReport(lines) }
        }
        for line in config.unusedKeysSummary { Console.error(line) }
    }
}

/// `--stages install,configure`: a comma-separated set of engine stages,
/// checked by the argument parser so a typo is a usage error.
struct StageList: ExpressibleByArgument {
    var stages: Set<Stage>
    static let expected = "expected a comma-separated list of install, configure, activate"

    init?(argument: String) {
        var stages: Set<Stage> = []
        for word in argument.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !word.isEmpty {
            guard let stage = Stage.allCases.first(where: { "\($0)" == word }) else { return nil }
            stages.insert(stage)
        }
        if stages.isEmpty { return nil }
        self.stages = stages
    }

    static var allValueStrings: [String] { Stage.allCases.map(\.description) }
}
