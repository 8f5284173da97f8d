import NIOCore
import NIOEmbedded
import Testing
@testable import Chatmaild

/// The dict framing read by read, on an EmbeddedChannel (a small limit
/// keeps the over-long cases short).
struct DictLineDecoderTests {
    static let limit = 16

    func decoder() -> EmbeddedChannel {
        EmbeddedChannel(handler: ByteToMessageHandler(DictLineDecoder(maxLineLength: Self.limit)))
    }

    /// Writes each chunk as one read; returns the lines passed on.
    func lines(_ channel: EmbeddedChannel, _ chunks: String...) throws -> [String] {
        for chunk in chunks { try channel.writeInbound(ByteBuffer(string: chunk)) }
        var out: [String] = []
        while let line = try channel.readInbound(as: [UInt8].self) { out.append(String(decoding: line, as: UTF8.self)) }
        return out
    }

    @Test func linesSplitAcrossReads() throws {
        let channel = decoder()
        #expect(try lines(channel, "Lab", "c\nH", "\nLx\nLy") == ["Labc", "H", "Lx"])
        #expect(try lines(channel, "z\n") == ["Lyz"])
        #expect(try channel.finish().isClean)
    }

    @Test func crlfSplitBetweenReads() throws {
        let channel = decoder()
        #expect(try lines(channel, "La\r", "\nLb\r\n", "Lc\r") == ["La", "Lb"])
        #expect(try lines(channel, "\n") == ["Lc"])
        // Only a CR right before the LF goes; others belong to the line.
        #expect(try lines(channel, "L\rd\r\r\n") == ["L\rd\r"])
    }

    @Test func emptyLinesAreNoRequests() throws {
        let channel = decoder()
        #expect(try lines(channel, "\n\r\n", "\n", "\r", "\nH\n\n") == ["H"])
    }

    @Test func aFinalLineWithoutNewlineStaysBufferedAndIsDroppedAtEOF() throws {
        let channel = decoder()
        #expect(try lines(channel, "H\nLshared/x") == ["H"])
        #expect(try lines(channel, "y") == [])
        // Closing passes nothing more on: a request without its newline is
        // not a request.
        #expect(try channel.finish().isClean)
    }

    @Test func linesAtTheLimitPass() throws {
        let channel = decoder()
        let full = String(repeating: "L", count: Self.limit)
        // The limit counts the CR: 15 bytes and CR pass, so does a whole
        // line at the limit, complete or still waiting for its newline.
        let withCR = String(repeating: "L", count: Self.limit - 1)
        #expect(try lines(channel, withCR + "\r\n", full + "\n", full) == [withCR, full])
        #expect(try lines(channel, "\n") == [full])
    }

    @Test func anOverLongLineInOneReadThrowsAfterTheLinesBeforeIt() throws {
        let channel = decoder()
        let over = String(repeating: "L", count: Self.limit + 1)
        #expect(throws: DictLineDecoder.TooLong(limit: Self.limit)) {
            try channel.writeInbound(ByteBuffer(string: "H\n" + over + "\nLnext\n"))
        }
        // The line before it was passed on first; the one after it never is.
        #expect(try channel.readInbound(as: [UInt8].self) == Array("H".utf8))
        #expect(try channel.readInbound(as: [UInt8].self) == nil)
        // Nothing more is decoded on this connection.
        #expect(throws: ByteToMessageDecoderError.self) { try channel.writeInbound(ByteBuffer(string: "H\n")) }
        #expect(try channel.readInbound(as: [UInt8].self) == nil)
    }

    @Test func anOverLongLineWithItsCRThrows() throws {
        let channel = decoder()
        let line = String(repeating: "L", count: Self.limit) + "\r\n"
        #expect(throws: DictLineDecoder.TooLong(limit: Self.limit)) { try channel.writeInbound(ByteBuffer(string: line)) }
    }

    @Test func anOverLongLineInPiecesThrowsBeforeItsNewline() throws {
        let channel = decoder()
        #expect(try lines(channel, "H\n" + String(repeating: "L", count: 10)) == ["H"])
        #expect(try lines(channel, String(repeating: "L", count: Self.limit - 10)) == [])
        // One byte over, no newline yet: no need to wait for the rest.
        #expect(throws: DictLineDecoder.TooLong(limit: Self.limit)) { try channel.writeInbound(ByteBuffer(string: "L")) }
    }

    @Test func theDefaultLimitIsDovecots() {
        #expect(DictLineDecoder().maxLineLength == 64 * 1024)
        #expect(DictServer.maxLineLength == 64 * 1024)
    }
}

/// The connection handler behind the decoder: replies in order, and an
/// over-long line drops every request of its read unanswered.
struct DictConnectionHandlerTests {
    /// Answers every lookup with its key, on the event loop.
    struct EchoLookups: DictService {
        func lookup(key: String, user: String?) -> DictLookupResult { .found(key) }
        func iterate(path: String, user: String?) -> [(String, String)]? { nil }
        func set(user: String?, key: String, value: String) -> Bool { false }
        func asyncLookup(key: String, user: String?) -> AsyncLookup? { nil }
        var concurrentLookups: Bool { false }
        func isSlow(key: String, user: String?) -> Bool { false }
    }

    func connection(_ drain: Drain) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers(
            ByteToMessageHandler(DictLineDecoder(maxLineLength: 16)),
            DictConnectionHandler(service: EchoLookups(), pool: nil, drain: drain))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    func written(_ channel: EmbeddedChannel) throws -> String {
        var out = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { out += String(buffer: buffer) }
        return out
    }

    @Test func pipelinedLinesAreAnsweredInOrderHoweverTheyArrive() throws {
        let drain = Drain()
        let channel = try connection(drain)
        try channel.writeInbound(ByteBuffer(string: "La\r\nL"))
        try channel.writeInbound(ByteBuffer(string: "b\n\nLc\nLd"))
        #expect(try written(channel) == "Oa\nOb\nOc\n")
        try channel.writeInbound(ByteBuffer(string: "\r\n"))
        #expect(try written(channel) == "Od\n")
        #expect(drain.pending == 0)
        #expect(channel.isActive)
    }

    @Test func anOverLongLineClosesWithoutAnsweringItsRead() throws {
        let drain = Drain()
        let channel = try connection(drain)
        try channel.writeInbound(ByteBuffer(string: "La\n"))
        #expect(try written(channel) == "Oa\n")
        // The request before the over-long line, in the same read, is
        // dropped unanswered, as is everything after it.
        try channel.writeInbound(ByteBuffer(string: "Lb\n" + String(repeating: "L", count: 17) + "\nLc\n"))
        #expect(try written(channel) == "")
        #expect(!channel.isActive)
        #expect(drain.pending == 0)
    }

    @Test func anOverLongLineInPiecesCloses() throws {
        let drain = Drain()
        let channel = try connection(drain)
        try channel.writeInbound(ByteBuffer(string: "La\n" + String(repeating: "L", count: 10)))
        #expect(try written(channel) == "Oa\n")
        try channel.writeInbound(ByteBuffer(string: String(repeating: "L", count: 7)))
        #expect(try written(channel) == "")
        #expect(!channel.isActive)
        #expect(drain.pending == 0)
    }
}
