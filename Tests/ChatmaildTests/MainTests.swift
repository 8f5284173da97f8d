import Testing
@testable import Chatmaild

@Suite struct ChatmaildMainTests {
    @Test func unknownServiceFails() {
        #expect(ChatmaildMain.run(arguments: ["no-such-service"]) == 2)
        #expect(ChatmaildMain.run(arguments: []) == 2)
        #expect(ChatmaildMain.run(arguments: ["--help"]) == 0)
        #expect(ChatmaildMain.run(arguments: ["--version"]) == 0)
        // A symlink named after a service runs it: quota-expire without its
        // arguments is a usage error (1), not an unknown service (2).
        #expect(ChatmaildMain.run(invokedAs: "/usr/local/bin/chatmail-quota-expire", arguments: []) == 1)
        #expect(ChatmaildMain.run(invokedAs: "/usr/local/bin/chatmaild", arguments: ["nope"]) == 2)
    }
}
