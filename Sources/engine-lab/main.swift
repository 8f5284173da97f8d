// engine-lab: the deploy engine against real Debian 12 hosts of the lab
// (scripts/lab), over our own SSH layer. Run inside the lab network by
// scripts/test-engine-lab (checks) and scripts/bench-engine (timings).
//
//   engine-lab test HOST      the checks; prints "engine-lab: N passed, N failed"
//   engine-lab bench HOST     one run of the bench manifest, as key=value lines
//   engine-lab bench-packages the bench manifest's packages (for the apt-get baseline)
//   engine-lab bench-count    the bench manifest's number of resources
//   engine-lab render-postfix INI DIR   the Postfix component's files for INI
//                             written into DIR (scripts/test-filtermail-postfix
//                             runs a throw-away Postfix on them)
import ChatmailConfig
import Deploy
import Foundation
import Remote

let env = ProcessInfo.processInfo.environment
func need(_ key: String) -> String {
    guard let v = env[key], !v.isEmpty else {
        FileHandle.standardError.write(Data("engine-lab: \(key) is not set (run through scripts/lab exec)\n".utf8))
        exit(2)
    }
    return v
}

func connect(_ target: String) throws -> any Remote.Host {
    var options = SSHOptions()
    options.configFile = need("LAB_SSH_CONFIG")
    options.acceptNewHostKey = true
    options.useAgent = false
    options.promptOnTerminal = false
    return try SSHHost(target: target, options: options)
}

/// sha256 by file name from the file server's SHA256SUMS, plus the
/// iroh-relay binary inside its tarball (what the extracting download checks).
func labSettings(host: String) throws -> LabSettings {
    let dir = need("LAB_FILES_DIR")
    var sums: [String: String] = [:]
    for line in try String(contentsOfFile: dir + "/SHA256SUMS", encoding: .utf8).split(separator: "\n") {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        if parts.count == 2 { sums[String(parts[1])] = String(parts[0]) }
    }
    var uts = utsname()
    uname(&uts)
    let arch = withUnsafeBytes(of: &uts.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    var s = LabSettings(hostName: host, filesURL: need("LAB_FILES_URL"), sums: sums, arch: arch)
    let tar = Process()
    tar.executableURL = URL(fileURLWithPath: "/bin/sh")
    tar.arguments = ["-c", "tar -xzOf \"$0\" ./iroh-relay | sha256sum | cut -c1-64", dir + "/" + s.irohFile]
    let pipe = Pipe()
    tar.standardOutput = pipe
    try tar.run()
    tar.waitUntilExit()
    s.sums["iroh-relay"] = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        .trimmingCharacters(in: .whitespacesAndNewlines)
    return s
}

let args = Array(CommandLine.arguments.dropFirst())
if args == ["bench-packages"] {
    print(benchPackages.joined(separator: " "))
    exit(0)
}
if args == ["bench-count"] {
    let s = LabSettings(hostName: "", filesURL: "", sums: [:], arch: "")
    print(benchManifest(s).resources.count)
    exit(0)
}
if args.count == 3, args[0] == "render-postfix" {
    do {
        let config = try ChatmailConfig.load(path: args[1])
        for resource in try Postfix().manifest(DeployContext(config: config)).resources {
            guard case .file(let file) = resource, file.path.hasPrefix("/etc/postfix/") else { continue }
            let name = (file.path as NSString).lastPathComponent
            try Data(file.content).write(to: URL(fileURLWithPath: args[2] + "/" + name))
        }
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("engine-lab render-postfix: \(error)\n".utf8))
        exit(1)
    }
}
guard args.count == 2, ["test", "bench"].contains(args[0]) else {
    FileHandle.standardError.write(Data("usage: engine-lab test|bench HOST\n".utf8))
    exit(2)
}
do {
    let settings = try labSettings(host: args[1])
    if args[0] == "test" {
        exit(LabChecks(target: args[1], settings: settings).runAll() ? 0 : 1)
    } else {
        try runBench(target: args[1], settings: settings)
    }
} catch {
    print("engine-lab: \(error)")
    exit(1)
}
