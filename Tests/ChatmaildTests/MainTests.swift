import Testing
@testable import Chatmaild

@Suite struct ChatmaildMainTests {
    @Test func unknownServiceFails() {
        #expect(ChatmaildMain.run(arguments: ["no-such-service"]) == 2)
        #expect(ChatmaildMain.run(arguments: []) == 2)
        #expect(ChatmaildMain.run(arguments: ["--help"]) == 0)
    }
}
