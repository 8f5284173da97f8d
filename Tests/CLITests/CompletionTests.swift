import Foundation
import Testing

/// The shell completions `cmdeploy --generate-completion-script` writes,
/// asked by a real bash the way it asks when the operator presses Tab.
@Suite struct CompletionTests {
    /// `cmdeploy WORDS... <Tab>` in `dir`: bash's candidates.
    func complete(_ words: [String], in dir: URL, env: [String: String] = [:]) throws -> [String] {
        let script = dir.appendingPathComponent("cmdeploy.bash")
        let generated = try CLI.run(["--generate-completion-script", "bash"], in: dir)
        #expect(generated.status == 0, "\(generated.stderr)")
        try generated.stdout.write(to: script, atomically: true, encoding: .utf8)
        let all = ["cmdeploy"] + words + [""]
        let quoted = all.map { "'\($0)'" }.joined(separator: " ")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["--norc", "-c", """
            source '\(script.path)' || exit 3
            COMP_WORDS=(\(quoted)); COMP_CWORD=\(all.count - 1)
            COMP_LINE='\(all.joined(separator: " "))'; COMP_POINT=${#COMP_LINE}
            _cmdeploy cmdeploy '' '\(words.last ?? "cmdeploy")'
            printf '%s\\n' "${COMPREPLY[@]}"
            """]
        p.currentDirectoryURL = dir
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init).sorted()
    }

    @Test func configCompletesIniFiles() throws {
        let dir = try CLI.tempDir()
        for f in ["chatmail.ini", "other.ini", "notes.txt"] {
            FileManager.default.createFile(atPath: dir.appendingPathComponent(f).path, contents: Data())
        }
        let got = try complete(["run", "--config"], in: dir)
        #expect(got.contains("chatmail.ini") && got.contains("other.ini"), "\(got)")
        #expect(!got.contains("notes.txt"), "\(got)")
    }

    @Test func stagesCompleteTheirNames() throws {
        let got = try complete(["run", "--stages"], in: try CLI.tempDir())
        #expect(["activate", "configure", "install"].allSatisfy(got.contains), "\(got)")
    }

    @Test func sshHostCompletesHostsOfSSHConfig() throws {
        let dir = try CLI.tempDir()
        let config = dir.appendingPathComponent("ssh_config")
        try "Host relay1 *.example.org\n  HostName 192.0.2.1\nhost old-relay\n".write(to: config, atomically: true, encoding: .utf8)
        let got = try complete(["status", "--ssh-host"], in: dir, env: ["CMDEPLOY_SSH_CONFIG": config.path])
        #expect(got == ["localhost", "old-relay", "relay1"], "\(got)")
    }

    @Test func subcommandsComplete() throws {
        let got = try complete([], in: try CLI.tempDir())
        #expect(["dns", "init", "run", "status"].allSatisfy(got.contains), "\(got)")
    }
}
