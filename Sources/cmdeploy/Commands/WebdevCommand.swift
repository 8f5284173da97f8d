import ArgumentParser
import ChatmailConfig
import Deploy
import Foundation
import Website

struct WebdevCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webdev",
        abstract: "Build the web pages locally, serve them and rebuild on every change.",
        discussion: """
            The pages come from www_folder in chatmail.ini (empty: the pages that come \
            with cmdeploy). Open the printed URL; the page reloads itself after every \
            change to the sources or to chatmail.ini.
            """)

    @Option(help: "Local port to serve on (0: any free port).") var port = 8000
    @Option(help: ArgumentHelp("Address to serve on; keep it on loopback unless you know who can reach it.",
                               valueName: "ipv4"))
    var bind = "127.0.0.1"
    @Option(help: ArgumentHelp("Build into this folder instead of <www_folder>/build.", valueName: "path"),
            completion: .directory)
    var out: String?
    @Flag(help: "Do not open a browser.") var noBrowser = false
    @OptionGroup var global: GlobalOptions

    func run() throws {
        var dev = WebDev(
            iniPath: global.iniPath,
            loadConfig: { _ in try global.loadConfig() },
            say: { Console.out($0); fflush(nil) },
            sayError: { Console.error($0) })
        dev.port = port
        dev.host = bind
        dev.outputDir = out
        do {
            try dev.run { url in
                if !noBrowser { Browser.open(url) }
            }
        } catch let error as CommandFailure {
            throw error
        } catch let error as ConfigError {
            throw error
        } catch {
            throw CommandFailure("webdev: \(error)")
        }
    }
}

/// Opens a URL in the desktop's browser when there is a desktop; the URL is
/// printed either way, so headless and remote sessions lose nothing.
enum Browser {
    static func open(_ url: String) {
        let env = ProcessInfo.processInfo.environment
        #if os(macOS)
        let opener = "/usr/bin/open"
        #else
        guard env["DISPLAY"] != nil || env["WAYLAND_DISPLAY"] != nil else { return }
        guard let opener = (env["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .map({ "\($0)/xdg-open" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else { return }
        #endif
        let process = Process()
        process.executableURL = URL(fileURLWithPath: opener)
        process.arguments = [url]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try? process.run()
    }
}
