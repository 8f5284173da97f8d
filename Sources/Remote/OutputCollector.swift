import Support
/// Collects a command's stdout and stderr and, when asked, hands out each
/// complete line as soon as it has arrived.
struct OutputCollector {
    var stdout: [UInt8] = []
    var stderr: [UInt8] = []
    private var lineStart: [OutputStream: Int] = [.stdout: 0, .stderr: 0]
    private var scanned: [OutputStream: Int] = [.stdout: 0, .stderr: 0]
    let onLine: ((OutputStream, String) -> Void)?

    init(onLine: ((OutputStream, String) -> Void)?) {
        self.onLine = onLine
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer, to stream: OutputStream) {
        switch stream {
        case .stdout: stdout.append(contentsOf: bytes)
        case .stderr: stderr.append(contentsOf: bytes)
        }
        if onLine != nil { emitLines(stream, final: false) }
    }

    /// Passes on a last line that had no newline.
    mutating func finish() {
        if onLine != nil {
            emitLines(.stdout, final: true)
            emitLines(.stderr, final: true)
        }
    }

    private mutating func emitLines(_ stream: OutputStream, final: Bool) {
        guard let onLine else { return }
        let buffer = stream == .stdout ? stdout : stderr
        var start = lineStart[stream]!
        var i = scanned[stream]!
        while i < buffer.count {
            if buffer[i] == UInt8(ascii: "\n") {
                onLine(stream, String(decoding: buffer[start..<i], as: UTF8.self))
                start = i + 1
            }
            i += 1
        }
        if final && start < buffer.count {
            onLine(stream, String(decoding: buffer[start...], as: UTF8.self))
            start = buffer.count
        }
        lineStart[stream] = start
        scanned[stream] = buffer.count
    }
}
