import Foundation

// Helpers every test target shares: one way to get a scratch directory,
// one way to run a program, one way to write a file.

/// A new empty directory under /tmp, named after the test that uses it.
public func scratchDir(_ tag: String) throws -> String {
    var template = Array("/tmp/cmdeploy-test-\(tag)-XXXXXX".utf8CString)
    guard let p = mkdtemp(&template) else {
        throw TestSupportError("mkdtemp failed for \(tag): \(String(cString: strerror(errno)))")
    }
    return String(cString: p)
}

public struct TestSupportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Runs a program by absolute path and returns its exit status and its
/// output: stdout and stderr combined, or only stdout when `stderr` is
/// false (for output that is parsed).
public func runTool(_ path: String, _ args: [String], stderr: Bool = true) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = stderr ? pipe : FileHandle.nullDevice
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Runs a shell script; returns its exit status and stdout+stderr.
@discardableResult
public func shell(_ script: String) throws -> (status: Int32, output: String) {
    try runTool("/bin/sh", ["-c", script])
}

/// Writes a text file (replacing it).
public func writeFile(_ path: String, _ text: String) throws {
    guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
        throw TestSupportError("cannot write \(path)")
    }
}

/// True when the program exists and is executable (daemon-gated tests).
public func isInstalled(_ program: String) -> Bool {
    FileManager.default.isExecutableFile(atPath: program)
}
