import Support
import ChatmailConfig
import Foundation

/// `cmdeploy webdev`: build the pages, serve them on a local port, and
/// rebuild and reload the browser whenever a source file or chatmail.ini
/// changes. Build errors are printed and the last good build stays served.
public struct WebDev {
    public var iniPath: String
    public var host = "127.0.0.1"
    public var port = 8000
    /// Build here instead of `<www>/build`.
    public var outputDir: String?
    /// How often the sources are looked at.
    public var pollInterval = 0.1
    /// Loads and validates chatmail.ini (the CLI's loader, so warnings print the same way).
    public var loadConfig: (String) throws -> ChatmailConfig
    /// Progress lines for the operator.
    public var say: (String) -> Void
    public var sayError: (String) -> Void

    public init(iniPath: String, loadConfig: @escaping (String) throws -> ChatmailConfig,
                say: @escaping (String) -> Void, sayError: @escaping (String) -> Void) {
        self.iniPath = iniPath
        self.loadConfig = loadConfig
        self.say = say
        self.sayError = sayError
    }

    /// What is served and from where.
    struct Plan {
        var sourceDir: String?
        var servedDir: String
    }

    func plan(for config: ChatmailConfig) throws -> Plan {
        switch try WebsiteLocation.resolve(config: config) {
        case .build(let src, let out):
            return Plan(sourceDir: src, servedDir: outputDir ?? out)
        case .uploadAsIs(let dir):
            return Plan(sourceDir: nil, servedDir: dir)
        case .disabled(let reason):
            throw WebsiteError(file: config.path, reason)
        }
    }

    /// Builds, starts the server, calls `started` with its URL, then watches forever.
    public func run(started: (String) -> Void) throws -> Never {
        var config = try loadConfig(iniPath)
        let plan = try plan(for: config)
        if let src = plan.sourceDir {
            // A mistake in the sources is what webdev is for: report it and
            // keep watching rather than exit.
            do {
                try WebsiteBuilder.build(config: config, sourceDir: src, outputDir: plan.servedDir, webdev: true)
            } catch {
                sayError("webdev: build failed: \(error)")
            }
        }
        let server = try DevServer(root: plan.servedDir, host: host, port: port)
        server.start()
        let watched = [plan.sourceDir ?? plan.servedDir, iniPath]
        say("webdev: serving \(plan.servedDir) at \(server.url)")
        say("webdev: watching \(watched.joined(separator: " and ")) for changes (Ctrl-C to stop)")
        started(server.url)

        let watcher = SourceWatcher(paths: watched)
        var snapshot = watcher.snapshot()
        var builds = 1
        while true {
            Thread.sleep(forTimeInterval: pollInterval)
            let next = watcher.snapshot()
            let changed = SourceWatcher.changes(from: snapshot, to: next)
            guard !changed.isEmpty else { continue }
            snapshot = next
            for path in changed { say("changed: \(path)") }
            guard let src = plan.sourceDir else {
                server.pagesChanged()
                continue
            }
            let started = Date()
            do {
                if changed.contains(iniPath) { config = try loadConfig(iniPath) }
                let result = try WebsiteBuilder.build(config: config, sourceDir: src, outputDir: plan.servedDir, webdev: true)
                builds += 1
                let ms = Int(Date().timeIntervalSince(started) * 1000)
                say("[\(builds)] rebuilt in \(ms) ms (\(result.changed.count) file(s) changed): \(server.url)")
                server.pagesChanged()
            } catch {
                sayError("webdev: build failed, still serving the last good pages: \(error)")
            }
        }
    }
}
