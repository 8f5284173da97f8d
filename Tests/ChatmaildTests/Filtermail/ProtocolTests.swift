import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
@testable import Chatmaild

/// A filtermail server and a re-inject sink on loopback ports picked by the
/// kernel, and the log lines the server wrote.
final class Harness {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    let sink: SMTPSink
    let server: FiltermailServer
    let logLines = NIOLockedValueBox<[String]>([])
    let mailboxes: String

    init(_ mode: FilterMode = .outgoing, adjust: (inout FiltermailSettings) -> Void = { _ in }) throws {
        sink = try SMTPSink(group: group)
        mailboxes = NSTemporaryDirectory() + "filtermail-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: mailboxes, withIntermediateDirectories: true)
        var settings = FiltermailSettings(mode: mode, listenPort: 0, reinjectPort: sink.port, mailboxesDir: mailboxes)
        adjust(&settings)
        let lines = logLines
        server = try FiltermailServer.start(settings: settings, group: group) { line in
            lines.withLockedValue { $0.append(line) }
        }.wait()
    }

    /// A client of the `/mxdeliv` listener (incoming mode with httpListenPort 0).
    func httpClient() -> LineClient { LineClient(port: server.httpPort!) }

    func client() -> LineClient {
        let client = LineClient(port: server.port)
        #expect(client.reply()?.code == 220)
        return client
    }

    func enforceE2EE(_ address: String) throws {
        try FileManager.default.createDirectory(atPath: "\(mailboxes)/\(address)", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: "\(mailboxes)/\(address)/enforceE2EEincoming", contents: Data())
    }

    deinit {
        try? server.close().wait()
        sink.close()
        try? group.syncShutdownGracefully()
        try? FileManager.default.removeItem(atPath: mailboxes)
    }
}

@Suite struct ProtocolTests {
    let alice = "alice@c.test", bob = "bob@c.test"

    /// One transaction with the commands sent one by one.
    func send(_ client: LineClient, from: String, to: [String], _ message: [UInt8]) -> LineClient.Reply? {
        client.send("MAIL FROM:<\(from)>\r\n")
        guard let mail = client.reply(), mail.code == 250 else { return client.reply() }
        for rcpt in to {
            client.send("RCPT TO:<\(rcpt)>\r\n")
            #expect(client.reply()?.code == 250)
        }
        client.send("DATA\r\n")
        #expect(client.reply()?.code == 354)
        client.sendMessage(message)
        return client.reply()
    }

    /// SIGTERM's graceful stop: a message already read is re-injected and
    /// answered 250 before the drain returns, so Postfix never retries a
    /// message that was delivered (no duplicate), and nothing new is read.
    @Test func gracefulStopAnswersTheMessageInFlight() throws {
        let h = try Harness()
        let client = h.client()
        client.send("MAIL FROM:<\(alice)>\r\n")
        #expect(client.reply()?.code == 250)
        client.send("RCPT TO:<slow@c.test>\r\n")
        #expect(client.reply()?.code == 250)
        client.send("DATA\r\n")
        #expect(client.reply()?.code == 354)
        client.sendMessage(Fixture.bytes("encrypted.eml", to: "slow@c.test"))
        let deadline = Date().addingTimeInterval(5)
        while h.server.drain.pending == 0, Date() < deadline { usleep(1000) }
        #expect(h.server.drain.pending == 1)
        h.server.closeListeners()
        #expect(h.server.drain.stopReadingAndWait(timeout: 5) == 0)
        #expect(client.reply()?.code == 250)
        #expect(h.sink.messages.map(\.recipients) == [["slow@c.test"]])
    }

    @Test func pipelinedCommandsAndSeveralMessagesOnOneConnection() throws {
        let h = try Harness()
        let client = h.client()
        let message = Fixture.bytes("encrypted.eml")
        var stuffed = Array("EHLO me\r\nMAIL FROM:<\(alice)>\r\nRCPT TO:<\(bob)>\r\nRCPT TO:<carol@c.test>\r\nDATA\r\n".utf8)
        stuffed += message + Array(".\r\n".utf8)
        // The next transaction follows at once, before the first is answered.
        stuffed += Array("MAIL FROM:<\(alice)>\r\nRCPT TO:<\(bob)>\r\nDATA\r\n".utf8) + message + Array(".\r\nNOOP\r\n".utf8)
        client.send(bytes: stuffed)
        let codes = (0..<10).map { _ in client.reply()?.code }
        #expect(codes == [250, 250, 250, 250, 354, 250, 250, 250, 354, 250])
        #expect(client.reply()?.code == 250, "NOOP")
        #expect(send(client, from: alice, to: [bob], message) == .init(code: 250, text: "OK"))
        client.send("QUIT\r\n")
        #expect(client.reply()?.code == 221)
        #expect(client.isClosedByServer())
        let got = h.sink.messages
        #expect(got.count == 3)
        #expect(got.first == SMTPSink.Message(sender: alice, recipients: [bob, "carol@c.test"], data: message))
        #expect(h.sink.connections == 1, "re-injection reuses its connection")
        #expect(h.logLines.withLockedValue { $0 } == Array(repeating: "Outgoing: Filtering encrypted mail.", count: 3))
    }

    @Test func dotLinesSurviveTheRoundTripUnchanged() throws {
        let h = try Harness(.incoming)
        let client = h.client()
        let message = Fixture.bytes("plain.eml", from: "carol@other.test")
        #expect(message.contains(subsequence: Array("\r\n.\r\n".utf8)))
        #expect(send(client, from: "carol@other.test", to: [bob], message)?.code == 250)
        // A message that is a single "." line (the relay's test_send_dot).
        let dot = Array("From: <carol@other.test>\r\n\r\n.\r\n".utf8)
        #expect(send(client, from: "carol@other.test", to: [bob], dot)?.code == 250)
        #expect(h.sink.messages.map(\.data) == [message, dot])
    }

    @Test func cleartextAndForgedSenderAreRefused() throws {
        let h = try Harness()
        let client = h.client()
        #expect(send(client, from: alice, to: [bob], Fixture.bytes("plain.eml"))
                == .init(code: 523, text: "Encryption Needed: Invalid Unencrypted Mail"))
        #expect(send(client, from: alice, to: [bob], Fixture.bytes("encrypted.eml", from: bob))
                == .init(code: 500, text: "Invalid FROM bob@c.test for alice@c.test"))
        #expect(send(client, from: alice, to: [bob], Fixture.bytes("securejoin-vc.eml"))?.code == 250)
        #expect(h.sink.messages.count == 1)
        #expect(h.logLines.withLockedValue { $0 }.contains("Rejected unencrypted mail from: alice@c.test"))
    }

    @Test func invalidSenderIsRefusedAndTheSessionGoesOn() throws {
        let h = try Harness()
        let client = h.client()
        client.send("MAIL FROM:<no-at-sign>\r\n")
        #expect(client.reply() == .init(code: 500, text: "Invalid from address no-at-sign"))
        client.send("MAIL FROM:<>\r\n")
        #expect(client.reply() == .init(code: 500, text: "Invalid from address "), "outgoing has no null sender")
        #expect(send(client, from: alice, to: [bob], Fixture.bytes("securejoin-vc.eml"))?.code == 250)
        let second = h.client()
        second.send("MAIL FROM:<a@b\r\nRCPT TO:<x@y>\r\nDATA\r\nXYZZY\r\n")
        #expect(second.reply() == .init(code: 500, text: "Invalid address in MAIL FROM"))
        #expect(second.reply()?.code == 503)
        #expect(second.reply()?.code == 503)
        #expect(second.reply() == .init(code: 500, text: "Command not recognized"))
    }

    @Test func incomingHonoursEnforceE2EEFlag() throws {
        let h = try Harness(.incoming)
        try h.enforceE2EE(bob)
        let client = h.client()
        let plain = Fixture.bytes("plain.eml", from: "carol@other.test")
        #expect(send(client, from: "carol@other.test", to: ["old@c.test"], plain)?.code == 250)
        #expect(send(client, from: "carol@other.test", to: ["old@c.test", bob], plain)?.code == 523)
        #expect(send(client, from: "carol@other.test", to: ["bob+tag@c.test"], plain)?.code == 523)
        #expect(send(client, from: "", to: [bob], Fixture.bytes("mailer-daemon.eml"))?.code == 250)
        #expect(send(client, from: "carol@other.test", to: [bob], Fixture.bytes("encrypted-armor-version.eml"))?.code == 250)
        #expect(h.sink.messages.map(\.recipients) == [["old@c.test"], [bob], [bob]])
        #expect(h.sink.messages[1].sender == "")
    }

    @Test func largeMessagesAreCheckedOffTheEventLoop() throws {
        let h = try Harness()
        let client = h.client()
        // 1.5 MB of MIME preamble keeps the message encrypted and large.
        let text = String(decoding: Fixture.bytes("encrypted.eml"), as: UTF8.self)
        let split = text.range(of: "\r\n\r\n")!
        let filler = String(repeating: "This preamble is not shown by any reader, it only adds size.\r\n", count: 24_000)
        let large = Array((text[..<split.upperBound] + filler + text[split.upperBound...]).utf8)
        #expect(large.count > FilterGate.inlineCheckLimit)
        #expect(send(client, from: alice, to: [bob], large)?.code == 250)
        let plain = Fixture.bytes("plain.eml") + Array(filler.utf8)
        #expect(send(client, from: alice, to: [bob], plain)?.code == 523)
        client.send("NOOP\r\n")
        #expect(client.reply()?.code == 250)
        #expect(h.sink.messages.map(\.data) == [large])
    }

    @Test func oversizeMessageIsRefusedAfterItsEnd() throws {
        let h = try Harness { $0.maxMessageSize = 2000 }
        let client = h.client()
        client.send("MAIL FROM:<\(alice)>\r\nRCPT TO:<\(bob)>\r\nDATA\r\n")
        #expect([client.reply()?.code, client.reply()?.code, client.reply()?.code] == [250, 250, 354])
        // Lines and one long line without a break: neither is kept in memory.
        client.send(String(repeating: "0123456789012345678901234567890123456789\r\n", count: 60))
        client.send(String(repeating: "x", count: 100_000) + "\r\n")
        // The rest of the data is data, not commands.
        client.send("RSET\r\n.\r\n")
        #expect(client.reply() == .init(code: 552, text: "Message exceeds maximum size"))
        client.send("NOOP\r\n")
        #expect(client.reply()?.code == 250)
        #expect(send(client, from: alice, to: [bob], Fixture.bytes("securejoin-vc.eml"))?.code == 250)
        #expect(h.sink.messages.count == 1)
    }

    @Test func bareLineFeedInDataIsRefused() throws {
        let h = try Harness(.incoming)
        let client = h.client()
        client.send("MAIL FROM:<carol@other.test>\r\nRCPT TO:<\(bob)>\r\nDATA\r\n")
        #expect([client.reply()?.code, client.reply()?.code, client.reply()?.code] == [250, 250, 354])
        // "\n.\n" and "\n.\r\n" do not end the data: the smuggled commands stay data.
        client.send("Subject: x\r\n\r\nsmuggled\n.\nMAIL FROM:<x@y>\n.\r\nRCPT TO:<z@c.test>\r\n.\r\n")
        #expect(client.reply() == .init(code: 500, text: "Invalid DATA"))
        client.send("NOOP\r\n")
        #expect(client.reply()?.code == 250, "nothing smuggled was read as a command")
        #expect(h.sink.messages.isEmpty)
    }

    @Test func stalledClientIsDisconnected() throws {
        let h = try Harness { $0.idleTimeout = .milliseconds(300) }
        let client = h.client()
        client.send("MAIL FROM:<\(alice)>\r\nRCPT TO:<\(bob)>\r\nDATA\r\nSubject: half a mess")
        #expect([client.reply()?.code, client.reply()?.code, client.reply()?.code] == [250, 250, 354])
        #expect(client.reply() == .init(code: 421, text: "4.4.2 filtermail idle timeout"))
        #expect(client.isClosedByServer())
        let busy = try Harness { $0.sessionTimeout = .milliseconds(400) }
        let chatty = busy.client()
        for _ in 0..<3 {
            chatty.send("NOOP\r\n")
            #expect(chatty.reply()?.code == 250)
        }
        #expect(chatty.reply() == .init(code: 421, text: "4.4.2 filtermail session time limit reached"))
    }

    @Test func rateLimitBurstThenOnePerInterval() throws {
        // 600 a minute: one every 0.1 s after a burst of 3.
        let h = try Harness {
            $0.maxUserSendPerMinute = 600
            $0.maxUserSendBurstSize = 3
        }
        let client = h.client()
        for _ in 0..<3 {
            client.send("MAIL FROM:<\(alice)>\r\nRSET\r\n")
            #expect(client.reply()?.code == 250)
            #expect(client.reply()?.code == 250)
        }
        client.send("MAIL FROM:<\(alice)>\r\n")
        let refusal = client.reply()
        #expect(refusal?.code == 450)
        #expect(refusal?.text.hasPrefix("4.7.1: Too much mail from alice@c.test") == true)
        // Other spellings of the same sender share its budget.
        for spelling in ["\"alice\"@c.test", "ALICE@C.TEST", "alice@c.test.", "@x.test:alice@c.test", "\"al\\ice\"@c.test"] {
            client.send("MAIL FROM:<\(spelling)>\r\n")
            #expect(client.reply()?.code == 450, "\(spelling)")
        }
        let other = h.client()
        other.send("MAIL FROM:<\(bob)>\r\n")
        #expect(other.reply()?.code == 250, "the limit is per sender")
        usleep(150_000)
        let later = h.client()
        later.send("MAIL FROM:<\(alice)>\r\nRSET\r\nMAIL FROM:<\(alice)>\r\n")
        #expect(later.reply()?.code == 250)
        #expect(later.reply()?.code == 250)
        #expect(later.reply()?.code == 450)
    }

    @Test func keptConnectionClosedByPostfixIsReplaced() throws {
        let h = try Harness()
        let client = h.client()
        #expect(send(client, from: alice, to: [bob], Fixture.bytes("encrypted.eml"))?.code == 250)
        h.sink.dropConnections()
        usleep(50_000)
        #expect(send(client, from: alice, to: [bob], Fixture.bytes("encrypted.eml"))?.code == 250)
        #expect(h.sink.messages.count == 2)
        #expect(h.sink.connections == 2)
    }

    @Test func keptConnectionAnswering451IsReplaced() throws {
        // Postfix answers 451 on a session whose milter was restarted.
        let h = try Harness()
        let client = h.client()
        #expect(send(client, from: alice, to: [bob], Fixture.bytes("encrypted.eml"))?.code == 250)
        h.sink.poisonConnections()
        #expect(send(client, from: alice, to: [bob], Fixture.bytes("encrypted.eml"))?.code == 250)
        #expect(h.sink.messages.count == 2)
        #expect(h.sink.connections == 2)
        // The replacement was kept; it is replaced in turn when it goes stale.
        h.sink.poisonConnections()
        #expect(send(client, from: alice, to: [bob], Fixture.bytes("encrypted.eml"))?.code == 250)
        #expect(h.sink.connections == 3 && h.sink.messages.count == 3)
    }

    @Test func silentPostfixTimesOut() throws {
        let h = try Harness { $0.reinjectTimeout = .milliseconds(300) }
        let client = h.client()
        #expect(send(client, from: alice, to: ["stall@c.test"], Fixture.bytes("encrypted.eml"))
                == .init(code: 451, text: "4.3.0 Re-injection failed: Postfix did not answer in time"))
        #expect(send(client, from: alice, to: [bob], Fixture.bytes("encrypted.eml"))?.code == 250)
        #expect(h.sink.messages.map(\.recipients) == [[bob]])
    }

    @Test func downstreamErrorsArePassedBack() throws {
        let h = try Harness()
        let client = h.client()
        let reply = send(client, from: alice, to: [bob, "rejected@c.test"], Fixture.bytes("encrypted.eml"))
        #expect(reply == .init(code: 550, text: "5.1.1 <rejected@c.test>: Recipient address rejected"))
        #expect(send(client, from: alice, to: [bob], Fixture.bytes("encrypted.eml"))?.code == 250)
        #expect(h.sink.messages.count == 1, "nothing of the refused transaction arrived")
        // The sink took the pipelined DATA despite the refused recipient, so
        // that connection was dropped rather than completed.
        #expect(h.sink.connections == 2)

        let port = h.sink.port
        h.sink.close()
        let unreachable = try Harness { $0.reinjectPort = port }
        let lonely = unreachable.client()
        let failure = send(lonely, from: alice, to: [bob], Fixture.bytes("encrypted.eml"))
        #expect(failure?.code == 451)
        #expect(failure?.text == "4.3.0 Re-injection failed: cannot connect to Postfix at 127.0.0.1:\(port)")
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool {
        guard subsequence.count <= count else { return false }
        return (0...(count - subsequence.count)).contains { self[$0..<($0 + subsequence.count)].elementsEqual(subsequence) }
    }
}
