import Remote
import Support
// Desired state, as plain values computed from chatmail.ini. A component is
// a list of these; the engine probes them all at once, diffs, and applies.

/// The three passes of a deploy, as in the Python tool: every component's
/// install work runs before any configure work, and services start only in
/// activate, once all configs are in place. A migration runs install and
/// configure on the new host and activate later.
public enum Stage: Int, Comparable, CaseIterable, Sendable, CustomStringConvertible {
    case install, configure, activate
    public static func < (a: Stage, b: Stage) -> Bool { a.rawValue < b.rawValue }
    public var description: String { ["install", "configure", "activate"][rawValue] }
}

/// A Debian package that must be installed (or absent).
public struct Package: Sendable, Equatable {
    public var name: String
    public var present: Bool
    public init(_ name: String, present: Bool = true) {
        self.name = name
        self.present = present
    }
}

/// A regular file with exact content, owner, group and mode.
public struct File: Sendable, Equatable {
    public var path: String
    public var content: [UInt8]
    public var owner: String
    public var group: String
    public var mode: UInt32
    /// Never print its content or a diff (keys, passwords).
    public var secret: Bool
    /// A shell command that checks the staged file before it replaces the
    /// live one. `{file}` is the staged file's path, `{dir}` its directory,
    /// which also holds copies of the unchanged files next to the target.
    public var validate: String?

    public init(_ path: String, content: [UInt8], owner: String = "root", group: String? = nil,
                mode: UInt32 = 0o644, secret: Bool = false, validate: String? = nil) {
        self.path = path
        self.content = content
        self.owner = owner
        self.group = group ?? owner
        self.mode = mode
        self.secret = secret
        self.validate = validate
    }

    public init(_ path: String, text: String, owner: String = "root", group: String? = nil,
                mode: UInt32 = 0o644, secret: Bool = false, validate: String? = nil) {
        self.init(path, content: Array(text.utf8), owner: owner, group: group, mode: mode,
                  secret: secret, validate: validate)
    }

    /// Units under /etc/systemd/system need a daemon-reload when they change.
    public var isSystemdUnit: Bool { path.hasPrefix("/etc/systemd/system/") }
}

public struct Directory: Sendable, Equatable {
    public var path: String
    public var owner: String
    public var group: String
    public var mode: UInt32
    public init(_ path: String, owner: String = "root", group: String? = nil, mode: UInt32 = 0o755) {
        self.path = path
        self.owner = owner
        self.group = group ?? owner
        self.mode = mode
    }
}

/// A path that must not exist (files of older versions, for example).
public struct Absent: Sendable, Equatable {
    public var path: String
    public init(_ path: String) { self.path = path }
}

public struct SystemGroup: Sendable, Equatable {
    public var name: String
    public init(_ name: String) { self.name = name }
}

/// A system account (`useradd --system`). Its primary group is created with
/// it when missing; extra groups must exist (declare them as SystemGroup).
public struct SystemUser: Sendable, Equatable {
    public var name: String
    public var group: String
    public var extraGroups: [String]
    public var home: String?
    public var shell: String
    public init(_ name: String, group: String? = nil, extraGroups: [String] = [], home: String? = nil,
                shell: String = "/usr/sbin/nologin") {
        self.name = name
        self.group = group ?? name
        self.extraGroups = extraGroups
        self.home = home
        self.shell = shell
    }
}

/// One exact line in a file that is otherwise left alone. When `replacing`
/// is set, existing lines starting with it are replaced instead of appending.
public struct LineInFile: Sendable, Equatable {
    public var path: String
    public var line: String
    public var replacing: String?
    public init(_ path: String, line: String, replacing: String? = nil) {
        self.path = path
        self.line = line
        self.replacing = replacing
    }
}

/// A systemd service and what makes it restart or reload.
public struct Service: Sendable, Equatable {
    public var name: String
    public var enabled: Bool
    public var running: Bool
    /// Paths (files, downloads) or package names whose change restarts it.
    public var restartOn: [String]
    /// Paths whose change only reloads it (when nothing restarts it).
    public var reloadOn: [String]

    public init(_ name: String, enabled: Bool = true, running: Bool = true,
                restartOn: [String] = [], reloadOn: [String] = []) {
        self.name = name
        self.enabled = enabled
        self.running = running
        self.restartOn = restartOn
        self.reloadOn = reloadOn
    }

    /// systemctl's name: `postfix` means `postfix.service`.
    public var unit: String { name.contains(".") ? name : name + ".service" }
}

/// A file fetched from a URL and pinned by sha256; `extract` is a shell
/// filter the download is piped through (e.g. `tar -xzO iroh-relay`).
public struct Download: Sendable, Equatable {
    public var url: String
    /// Further URLs of the same file, tried in order when `url` fails or
    /// serves other bytes.
    public var mirrors: [String]
    public var sha256: String
    public var path: String
    public var mode: UInt32
    public var extract: String?
    public init(_ url: String, mirrors: [String] = [], sha256: String, to path: String, mode: UInt32 = 0o755,
                extract: String? = nil) {
        self.url = url
        self.mirrors = mirrors
        self.sha256 = sha256.lowercased()
        self.path = path
        self.mode = mode
        self.extract = extract
    }
}

/// A command that runs only when needed: when `unless` fails (exit non-zero),
/// or when one of `onChangeOf` (paths or package names) changed in this run.
/// A command with neither would run on every deploy, which the engine refuses.
public struct GuardedCommand: Sendable, Equatable {
    public var name: String
    public var command: String
    public var unless: String?
    public var onChangeOf: [String]
    public var stage: Stage
    /// Set for a requirement (`requirement(_:check:refusal:)`): what the
    /// operator reads when the host does not meet it.
    public var refusal: String?
    public init(_ name: String, _ command: String, unless: String? = nil, onChangeOf: [String] = [],
                stage: Stage = .configure) {
        self.name = name
        self.command = command
        self.unless = unless
        self.onChangeOf = onChangeOf
        self.stage = stage
    }

    /// The same from scripts whose values were quoted when they were built.
    public init(_ name: String, _ command: ShellScript, unless: ShellScript? = nil, onChangeOf: [String] = [],
                stage: Stage = .configure) {
        self.init(name, command.text, unless: unless?.text, onChangeOf: onChangeOf, stage: stage)
    }

    /// Something the host must already have (an operator's certificate
    /// file): `check` runs in the probe, and when it fails the engine refuses
    /// the run with `refusal` before changing anything, dry runs included.
    public static func requirement(_ name: String, check: ShellScript, refusal: String) -> GuardedCommand {
        var command = GuardedCommand(name, "echo \(shellQuote(refusal)) >&2; exit 1", unless: check.text, stage: .install)
        command.refusal = refusal
        return command
    }
}

public enum Resource: Sendable, Equatable {
    case package(Package)
    case group(SystemGroup)
    case user(SystemUser)
    case download(Download)
    case directory(Directory)
    case file(File)
    case line(LineInFile)
    case absent(Absent)
    case command(GuardedCommand)
    case service(Service)

    /// Unique key: two resources with the same key contradict each other.
    public var key: String {
        switch self {
        case .package(let p): "package:\(p.name)"
        case .group(let g): "group:\(g.name)"
        case .user(let u): "user:\(u.name)"
        case .download(let d): "path:\(d.path)"
        case .directory(let d): "path:\(d.path)"
        case .file(let f): "path:\(f.path)"
        case .line(let l): "line:\(l.path):\(l.replacing ?? l.line)"
        case .absent(let a): "path:\(a.path)"
        case .command(let c): "command:\(c.name)"
        case .service(let s): "service:\(s.unit)"
        }
    }

    /// What restart/reload triggers and onChangeOf lists refer to.
    public var triggerName: String? {
        switch self {
        case .package(let p): p.name
        case .download(let d): d.path
        case .file(let f): f.path
        case .line(let l): l.path
        case .directory(let d): d.path
        case .absent(let a): a.path
        default: nil
        }
    }

    public var stage: Stage {
        switch self {
        case .package, .group, .user, .download: .install
        case .directory, .file, .line, .absent: .configure
        case .command(let c): c.stage
        case .service: .activate
        }
    }
}
