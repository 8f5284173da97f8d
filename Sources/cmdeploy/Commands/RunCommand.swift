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
        valueName: "list"))
    var stages: String?
    @Option(help: ArgumentHelp(
        "The chatmaild binary to install (default: $CMDEPLOY_CHATMAILD_BINARY, else the chatmaild next to cmdeploy).",
        valueName: "path"))
    var chatmaildBinary: String?
    @OptionGroup var host: SSHHostOption
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let config = try global.loadConfig()
        let showDiff = diff || global.verbose
        var runStages = Set(Stage.allCases)
        var acmeMissing = false
        let printer = EventPrinter(mode: json ? .json : (Console.isTerminal ? .terminal : .plain))
        do {
            if let text = stages ?? ProcessInfo.processInfo.environment["CMDEPLOY_STAGES"].flatMap({ $0.isEmpty ? nil : $0 }) {
                runStages = try Deployment.parseStages(text)
            }
            try Deployment.preflight(config)
            let target = host.target(for: config)
            let remote = try host.connect(target, verbose: global.verbose)
            defer { remote.close() }
            // The same lookups as `cmdeploy dns`, in one round trip, before
            // anything is built or changed. IPv4 relays have no DNS to check.
            if !skipDnsCheck && !config.isIPv4Relay {
                let probe = try collectDNS(config, on: remote, verbose: global.verbose, installDig: !dryRun)
                if probe.digMissing {
                    // A dry run leaves the host as it is, dnsutils included.
                    printer.note("warning: DNS not checked: dig is not installed on \(remote.name) yet (the real run installs dnsutils and checks)")
                } else if let problems = DNSPreCheck.problems(config, probe: probe) {
                    for line in problems { Console.error(line) }
                    throw ExitCode(1)
                }
                acmeMissing = config.strictTLS && probe.acmeAccountURL.isEmpty
            }
            var context = DeployContext(
                config: config, disableMail: disableMail,
                chatmaild: websiteOnly ? nil : try Deployment.locateChatmaild(chatmaildBinary),
                website: try Deployment.buildWebsite(config),
                version: Deployment.versionStamp())
            context.websiteOnly = websiteOnly
            context.unboundConfigLock = context.chatmaild.flatMap(Deployment.locateUnboundConfigLock(beside:))
            if let note = Website.skipNote(context) { printer.note(note) }
            for note in Relay.omissions(for: context) { printer.note("warning: " + note) }
            let components = Relay.components(for: context)
            let desired = try DesiredState(components: components, context: context)
            let engine = Engine(host: remote, desired: desired, onEvent: printer.handle)
            let summary = try engine.run(dryRun: dryRun, stages: runStages, withContent: showDiff) { plan, probe in
                for binary in [context.chatmaild, context.unboundConfigLock].compactMap({ $0 }) {
                    try Deployment.checkArchitecture(binary, hostArch: probe.facts.arch, hostName: remote.name)
                }
                if !websiteOnly {
                    try Deployment.checkMtailAddress(config, hostAddresses: probe.facts.ipv4Addresses, hostName: remote.name)
                    let conflicts = PortCheck.conflicts(context, listeners: probe.facts.listeners, host: remote.name)
                    if !conflicts.isEmpty { throw DeployFailure(conflicts.joined(separator: "\n")) }
                }
                printer.plan(plan, desired: desired, probe: probe, diff: showDiff)
            }
            printer.finish(summary)
        } catch let error as ExitCode {
            throw error
        } catch {
            printer.failed("\(error)")
            Console.error("Deploy failed")
            throw ExitCode(1)
        }
        if dryRun { return }
        if websiteOnly {
            Console.success("Website deployment completed.")
        } else if acmeMissing {
            // A first deploy creates the ACME account; the CAA record needs its URL.
            Console.error("Deploy completed but letsencrypt not configured")
            Console.error("Run 'cmdeploy run' again")
        } else if config.isIPv4Relay {
            Console.success("Deploy completed.")
        } else {
            Console.success("Deploy completed, call `cmdeploy dns` next.")
        }
        for line in config.unusedKeysSummary { Console.error(line) }
    }
}
