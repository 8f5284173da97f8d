import Testing
@testable import Chatmaild

@Suite struct FiltermailCommandTests {
    @Test func wrongUsageFailsWithoutStarting() {
        #expect(ChatmaildMain.run(arguments: ["filtermail"]) == 1)
        #expect(ChatmaildMain.run(arguments: ["filtermail", "chatmail.ini"]) == 1)
        #expect(ChatmaildMain.run(arguments: ["filtermail", "chatmail.ini", "sideways"]) == 1)
        #expect(ChatmaildMain.run(arguments: ["filtermail", "chatmail.ini", "transport"]) == 1)
        #expect(ChatmaildMain.run(arguments: ["filtermail", "/nonexistent/chatmail.ini", "outgoing"]) == 1)
    }

    @Test func reinjectionKeepsBytesAndStuffsDots() {
        var out = ByteBufferAllocatorHelper.buffer()
        ReinjectConnection.stuff(.init(string: ".\r\nfoo\r\n..bar\r\n"), into: &out)
        #expect(out.getString(at: 0, length: out.readableBytes) == "..\r\nfoo\r\n...bar\r\n.\r\n")
        var empty = ByteBufferAllocatorHelper.buffer()
        ReinjectConnection.stuff(.init(), into: &empty)
        #expect(empty.getString(at: 0, length: empty.readableBytes) == ".\r\n")
    }
}

import NIOCore
enum ByteBufferAllocatorHelper {
    static func buffer() -> ByteBuffer { ByteBufferAllocator().buffer(capacity: 64) }
}
