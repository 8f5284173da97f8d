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

    /// What is served and from where: built from a folder (rebuilt when it
    /// changes), built from the compiled-in pages, or a folder as it is.
    struct Plan {
        var sourceDir: String?
        var embedded = false
        var servedDir: String
    }

    func plan(for config: ChatmailConfig) throws -> Plan {
        switch try WebsiteLocation.resolve(config: config) {
        case .build(let src, let out):
            return Plan(sourceDir: src, servedDir: outputDir ?? out)
        case .embedded:
            let dir = try outputDir ?? Self.scratchFolder()
            return Plan(sourceDir: nil, embedded: true, servedDir: dir)
        case .uploadAsIs(let dir):
            return Plan(sourceDir: nil, servedDir: dir)
        case .disabled(let reason):
            throw WebsiteError(file: config.path, reason)
        }
    }

    private func build(_ plan: Plan, _ config: ChatmailConfig) throws(WebsiteError) -> WebsiteBuilder.Result {
        if let src = plan.sourceDir {
            return try WebsiteBuilder.build(config: config, sourceDir: src, outputDir: plan.servedDir, webdev: true)
        }
        return try WebsiteBuilder.buildEmbedded(config: config, outputDir: plan.servedDir, webdev: true)
    }

    /// A private folder for the compiled-in pages' build (mkdtemp: not a
    /// name another user could take first).
    static func scratchFolder() throws -> String {
        var template = Array((NSTemporaryDirectory() + "cmdeploy-webdev-XXXXXX").utf8CString)
        guard let p = mkdtemp(&template) else {
            throw WebsiteError(file: NSTemporaryDirectory(), "cannot make a folder for the pages: \(String(cString: strerror(errno)))")
        }
        return String(cString: p)
    }

    /// Builds, starts the server, calls `started` with its URL, then watches forever.
    public func run(started: (String) -> Void) throws -> Never {
        var config = try loadConfig(iniPath)
        let plan = try plan(for: config)
        if plan.sourceDir != nil || plan.embedded {
            // A mistake in the sources is what webdev is for: report it and
            // keep watching rather than exit.
            do {
                _ = try build(plan, config)
            } catch {
                sayError("webdev: build failed: \(error)")
            }
        }
        let server = try DevServer(root: plan.servedDir, host: host, port: port)
        server.start()
        // The compiled-in pages cannot change; chatmail.ini still can.
        let watched = plan.embedded ? [iniPath] : [plan.sourceDir ?? plan.servedDir, iniPath]
        if plan.embedded { say("webdev: the pages built into cmdeploy (no www/ folder found; www_folder in chatmail.ini picks one)") }
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
            guard plan.sourceDir != nil || plan.embedded else {
                server.pagesChanged()
                continue
            }
            let started = Date()
            do {
                if changed.contains(iniPath) { config = try loadConfig(iniPath) }
                let result = try build(plan, config)
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
