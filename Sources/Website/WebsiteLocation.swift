import Support
import ChatmailConfig
import Foundation

/// What the deploy does with the web pages, following `www_folder`:
///   ""               the pages that come with cmdeploy: the checkout's
///                    `www/` when cmdeploy runs from one (edits count without
///                    a rebuild), else the copy compiled into the binary
///   a folder         with `src/index.md`: built from `src/` into `build/`;
///                    without: uploaded as it is
///   anything else    (e.g. `disabled`): no web pages are deployed
/// A relative `www_folder` is taken relative to the folder of chatmail.ini,
/// so the same file means the same pages whatever the current directory is.
public enum WebsiteLocation: Equatable, Sendable {
    case build(sourceDir: String, outputDir: String)
    /// The default pages compiled into cmdeploy (a release binary on its own).
    case embedded
    case uploadAsIs(dir: String)
    case disabled(reason: String)

    /// Environment variable naming the `www` folder that comes with cmdeploy,
    /// for installs where it does not sit next to the executable.
    public static let wwwDirVariable = "CMDEPLOY_WWW_DIR"

    public static func resolve(config: ChatmailConfig) throws(WebsiteError) -> WebsiteLocation {
        let fm = FileManager.default
        let www: String
        if config.wwwFolder.isEmpty {
            guard let found = try bundledWWW() else { return .embedded }
            www = found
        } else if config.wwwFolder.hasPrefix("/") {
            www = config.wwwFolder
        } else {
            let iniDir = (config.path as NSString).deletingLastPathComponent
            www = iniDir.isEmpty ? config.wwwFolder : iniDir + "/" + config.wwwFolder
        }
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: www, isDirectory: &isDir), isDir.boolValue else {
            return .disabled(reason: "www_folder = \(config.wwwFolder) is not a folder (\(www)), so no web pages are deployed")
        }
        if fm.fileExists(atPath: www + "/src/index.md") {
            return .build(sourceDir: www + "/src", outputDir: www + "/build")
        }
        return .uploadAsIs(dir: www)
    }

    /// The `www` folder that comes with cmdeploy: `$CMDEPLOY_WWW_DIR`, else the
    /// nearest `www/` with `src/index.md` above the executable (a checkout's
    /// `.build/<config>/cmdeploy`) or `share/cmdeploy/www` beside its `bin/`;
    /// nil when there is none (the compiled-in pages are used).
    public static func bundledWWW() throws(WebsiteError) -> String? {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment[wwwDirVariable], !env.isEmpty {
            guard fm.fileExists(atPath: env + "/src/index.md") else {
                throw WebsiteError(file: env, "\(wwwDirVariable) names a folder without src/index.md")
            }
            return env
        }
        var dir = (executablePath() as NSString).deletingLastPathComponent
        while dir != "/" && !dir.isEmpty {
            for c in [dir + "/www", dir + "/share/cmdeploy/www"] where fm.fileExists(atPath: c + "/src/index.md") {
                return (c as NSString).standardizingPath
            }
            dir = (dir as NSString).deletingLastPathComponent
        }
        return nil
    }

    static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
    }
}
