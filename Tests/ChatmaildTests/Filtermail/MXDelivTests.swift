import NIOHTTP1
import Testing
@testable import Chatmaild

/// `POST /mxdeliv` over a real loopback socket, re-injecting into the sink.
@Suite struct MXDelivTests {
    let bob = "bob@c.test", carol = "carol@other.test"

    func harness() throws -> Harness {
        let h = try Harness(.incoming) { $0.httpListenPort = 0; $0.maxMessageSize = 100_000 }
        try h.enforceE2EE(bob)
        return h
    }

    /// The SMTP DATA form of a message: dot-stuffed, without the final dot.
    func stuffed(_ message: [UInt8]) -> [UInt8] { LineClient.dotStuffed(message) }

    func post(_ h: Harness, from: String? = "carol@other.test", to: [String], _ body: [UInt8],
              method: String = "POST", path: String = "/mxdeliv") -> (status: Int, body: String)? {
        let client = h.httpClient()
        var head = "\(method) \(path) HTTP/1.1\r\nHost: c.test\r\nContent-Length: \(body.count)\r\n"
        if let from { head += "X-MAIL-FROM: \(from)\r\n" }
        for rcpt in to { head += "X-MAIL-TO: \(rcpt)\r\n" }
        client.send(bytes: Array((head + "\r\n").utf8) + body)
        return client.httpResponse()
    }

    @Test func acceptedAndRefusedDeliveries() throws {
        let h = try harness()
        let encrypted = stuffed(Fixture.bytes("encrypted.eml", from: carol))
        let accepted = post(h, to: [bob, "Legacy@C.test"], encrypted)
        #expect(accepted?.status == 200 && accepted?.body == "250 OK")
        #expect(h.sink.messages.map(\.recipients) == [[bob, "legacy@c.test"]])
        #expect(h.sink.messages.first?.sender == carol)
        #expect(h.sink.messages.first?.data == Fixture.bytes("encrypted.eml", from: carol), "dots unstuffed")

        let plain = stuffed(Fixture.bytes("plain.eml", from: carol))
        let refused = post(h, to: [bob], plain)
        #expect(refused?.status == 400 && refused?.body == "523 Encryption Needed: Invalid Unencrypted Mail")
        #expect(post(h, to: ["legacy@c.test"], plain)?.status == 200, "legacy mailboxes take cleartext")

        for foreign in ["x@other.test", "bob@c.test.evil", "\"bob\"@c.test", "bob%other.test@c.test", "bob@c.test."] {
            let answer = post(h, to: [foreign], encrypted)
            #expect(answer?.status == 400 && answer?.body.hasPrefix("550 5.1.1") == true, "\(foreign): \(String(describing: answer))")
        }
        #expect(post(h, to: [], encrypted)?.body.hasPrefix("503") == true)
        #expect(post(h, from: "not an address", to: [bob], encrypted)?.body.hasPrefix("501") == true)
        #expect(post(h, from: "a>b@other.test", to: [bob], encrypted)?.body.hasPrefix("501") == true)
        #expect(post(h, from: nil, to: [bob], encrypted)?.status == 200, "no X-MAIL-FROM: the null sender")
        #expect(h.sink.messages.last?.sender == "")
        #expect(h.sink.messages.count == 3)
    }

    @Test func dataRulesSizeAndMethod() throws {
        let h = try harness()
        let encrypted = stuffed(Fixture.bytes("encrypted.eml", from: carol))
        #expect(post(h, to: [bob], Array(encrypted.dropLast(2)))?.body == "500 Invalid DATA", "no final CRLF")
        #expect(post(h, to: [bob], encrypted + Array(".\r\nMAIL FROM:<x@y>\r\n".utf8))?.body == "500 Invalid DATA",
                "a lone dot line")
        #expect(post(h, to: ["legacy@c.test"], Array("From: <carol@other.test>\r\n\r\nbare\nLF\r\n".utf8))?.body
                == "500 Invalid DATA")
        let big = [UInt8](repeating: UInt8(ascii: "a"), count: 200_000)
        let tooBig = post(h, to: [bob], big)
        #expect(tooBig?.status == 413 && tooBig?.body == "552 Message exceeds maximum size")
        #expect(post(h, to: [bob], encrypted, method: "GET")?.status == 405)
        #expect(post(h, to: [bob], encrypted, path: "/other")?.status == 404)
        #expect(h.sink.messages.isEmpty)
    }

    @Test func headerRules() {
        var headers = HTTPHeaders()
        headers.add(name: "X-Mail-From", value: "<Carol@Other.test>")
        headers.add(name: "X-MAIL-TO", value: "<BOB@c.test>")
        headers.add(name: "x-mail-to", value: "alice+tag@c.test")
        #expect(MXDelivRequest.envelope(headers, mailDomain: "c.test", maxRecipients: 5)
                == .success(Envelope(sender: "carol@other.test", recipients: ["bob@c.test", "alice+tag@c.test"])))
        #expect(MXDelivRequest.envelope(headers, mailDomain: "c.test", maxRecipients: 1)
                == .failure(SMTPReply(452, "4.5.3 Error: too many recipients")))
        #expect(MXDelivRequest.unstuff(Array("..a\r\n.b\r\nc\r\n".utf8)) == .success(Array(".a\r\nb\r\nc\r\n".utf8)))
    }
}
