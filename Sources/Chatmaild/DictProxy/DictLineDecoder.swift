import NIOCore

/// Frames the dict protocol: one request per LF-terminated line. Emits each
/// non-empty line without its LF (and a CR before it); an empty line is no
/// request. A line over the limit, complete or still arriving, throws
/// `TooLong`; ByteToMessageHandler passes that to the next handler's
/// errorCaught and decodes nothing more on the connection.
struct DictLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = [UInt8]

    struct TooLong: Error, Equatable {
        let limit: Int
    }

    let maxLineLength: Int

    init(maxLineLength: Int = DictServer.maxLineLength) {
        self.maxLineLength = maxLineLength
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        guard let nl = view.firstIndex(of: UInt8(ascii: "\n")) else {
            // The start of a line that is already too long: no need to wait
            // for its newline.
            if view.count > maxLineLength { throw TooLong(limit: maxLineLength) }
            return .needMoreData
        }
        // The limit counts a CR before the LF, as the check above must.
        let length = nl - view.startIndex
        guard length <= maxLineLength else { throw TooLong(limit: maxLineLength) }
        var line = buffer.readBytes(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        if !line.isEmpty { context.fireChannelRead(wrapInboundOut(line)) }
        return .continue
    }

    /// At EOF every complete line was already passed on; a last line
    /// without its newline is no request and is dropped.
    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        .needMoreData
    }
}
