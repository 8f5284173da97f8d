import NIOCore
import Testing
@testable import MailClient

@Suite struct SMTPReplyParsingTests {
    func buffer(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }

    @Test func multiLineReplyIsOneReply() throws {
        var b = buffer("250-relay1.test\r\n250-PIPELINING\r\n250 SMTPUTF8\r\n220 next")
        let reply = try #require(try SMTPReply.parse(&b))
        #expect(reply.code == 250)
        #expect(reply.lines == ["relay1.test", "PIPELINING", "SMTPUTF8"])
        // The next reply stays buffered until its line is complete.
        #expect(try SMTPReply.parse(&b) == nil)
        #expect(b.readableBytes == "220 next".utf8.count)
    }

    @Test func incompleteReplyConsumesNothing() throws {
        var b = buffer("250-first\r\n250-sec")
        #expect(try SMTPReply.parse(&b) == nil)
        #expect(b.readableBytes == "250-first\r\n250-sec".utf8.count)
    }

    @Test func bareCodeAndLFOnlyLines() throws {
        var b = buffer("354\n")
        #expect(try SMTPReply.parse(&b) == SMTPReply(code: 354, lines: [""]))
    }

    @Test func garbageAndMixedCodesAreErrors() {
        var b = buffer("hello\r\n")
        #expect(throws: SMTPReply.SyntaxError.self) { try SMTPReply.parse(&b) }
        var mixed = buffer("250-a\r\n251 b\r\n")
        #expect(throws: SMTPReply.SyntaxError.self) { try SMTPReply.parse(&mixed) }
    }

    @Test func dataIsDotStuffedWithCRLF() {
        let out = String(decoding: dotStuffed(Array("a\n.b\r\n..\nend".utf8)), as: UTF8.self)
        #expect(out == "a\r\n..b\r\n...\r\nend\r\n.\r\n")
    }
}

@Suite struct IMAPResponseParsingTests {
    @Test func taggedUntaggedAndContinuation() throws {
        var b = ByteBuffer(string: "* 3 EXISTS\r\n+ idling\r\nC1 OK done\r\n")
        let exists = try #require(try IMAPResponse.parse(&b))
        #expect(exists.number(before: "EXISTS") == 3)
        let cont = try #require(try IMAPResponse.parse(&b))
        #expect(cont.tag == "+")
        let done = try #require(try IMAPResponse.parse(&b))
        #expect(done.tag == "C1" && done.status == "OK")
        #expect(try IMAPResponse.parse(&b) == nil)
    }

    @Test func literalsSpanLinesAndWaitForAllBytes() throws {
        let body = "Subject: x\r\n\r\nhi\r\n"
        let full = "* 1 FETCH (BODY[] {\(body.utf8.count)}\r\n\(body))\r\n"
        // Every prefix is incomplete; nothing is consumed.
        for cut in [10, 25, full.utf8.count - 1] {
            // Cut by bytes: "\r\n" is a single Character in Swift.
            var partial = ByteBuffer(bytes: Array(full.utf8)[..<cut])
            #expect(try IMAPResponse.parse(&partial) == nil)
        }
        var b = ByteBuffer(string: full)
        let r = try #require(try IMAPResponse.parse(&b))
        #expect(r.number(before: "FETCH") == 1)
        #expect(r.literals == [Array(body.utf8)])
        #expect(r.text.hasSuffix(")"))
        #expect(b.readableBytes == 0)
    }

    @Test func metadataQuotedLiteralAndNil() throws {
        var b = ByteBuffer(string: "* METADATA \"INBOX\" (/private/devicetoken \"1111 \\\"2\\\"\")\r\n"
            + "* METADATA \"\" (/shared/vendor/deltachat/appversions {14}\r\n{\"clients\":[]})\r\n"
            + "* METADATA INBOX (/private/x NIL)\r\n")
        let quoted = try #require(try IMAPResponse.parse(&b))
        #expect(quoted.metadataValues()["/private/devicetoken"] == "1111 \"2\"")
        let literal = try #require(try IMAPResponse.parse(&b))
        #expect(literal.metadataValues()["/shared/vendor/deltachat/appversions"] == "{\"clients\":[]}")
        let none = try #require(try IMAPResponse.parse(&b))
        #expect(none.metadataValues()["/private/x"] == .some(nil))
    }

    @Test func quotingEscapes() {
        #expect(imapQuoted("a\"b\\c") == "\"a\\\"b\\\\c\"")
    }
}

@Suite struct TestMessageTests {
    @Test func armorHasChecksumAndPacketsOfTheRightTags() {
        let packets = TestMessage.fakeCiphertext()
        #expect(packets.first == 0xC1)
        // Walk the new-format packets: two PKESK (1) then one SEIPD (18) ending the data.
        var i = 0, tags: [UInt8] = []
        while i < packets.count {
            tags.append(packets[i] & 0x3F)
            let b = Int(packets[i + 1])
            let (len, hdr) = b < 192 ? (b, 2) : (((b - 192) << 8) + Int(packets[i + 2]) + 192, 3)
            i += hdr + len
        }
        #expect(tags == [1, 1, 18])
        #expect(i == packets.count)
        // CRC24 of "123456789" is 0x21CF02 (RFC 4880 reference implementation).
        #expect(TestMessage.crc24(Array("123456789".utf8)) == 0x21CF02)
    }

    @Test func messagesUseCRLFAndNamesTheSender() {
        let text = String(decoding: TestMessage.encrypted(from: "a@x.test", to: ["b@x.test"]), as: UTF8.self)
        #expect(text.hasPrefix("From: <a@x.test>\r\n"))
        #expect(!text.replacingAll("\r\n", "").contains("\n"))
        #expect(text.contains("multipart/encrypted"))
    }

    @Test func base64MatchesRFC4648Vectors() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors { #expect(base64Encode(Array(plain.utf8)) == encoded) }
    }
}

@Suite struct TrustTests {
    @Test func selfSignedDomainsAndIPsAcceptAnyCertificate() {
        #expect(TLSTrust.forDomain("_relay2.test", caFile: nil).acceptInvalid)
        #expect(TLSTrust.forDomain("[10.0.0.1]", caFile: nil).acceptInvalid)
        #expect(!TLSTrust.forDomain("relay1.test", caFile: "/ca.pem").acceptInvalid)
    }

    @Test func httpStatusAndBody() throws {
        let r = try HTTPSClient.parse(Array("HTTP/1.1 200 OK\r\nA: b\r\n\r\n{\"x\":1}".utf8), endpoint: "h:443")
        #expect(r.status == 200 && r.bodyText == "{\"x\":1}")
        #expect(throws: MailError.self) { try HTTPSClient.parse(Array("garbage".utf8), endpoint: "h:443") }
    }
}
