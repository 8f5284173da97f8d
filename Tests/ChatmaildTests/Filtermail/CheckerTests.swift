import Testing
@testable import Chatmaild

/// The verdicts the Python relay's tests expect on its fixture messages
/// (only real PGP/MIME counts as encrypted), and edge cases.
@Suite struct CheckerTests {
    func parsed(_ name: String) throws -> MIMEEntity { try MIMEEntity.parse(Fixture.bytes(name)[...]) }

    static let encryptedBoth = ["encrypted.eml", "encrypted-lf.eml", "encrypted-uppercase.eml",
                                "encrypted-skesk-no-crc.eml", "encrypted-partial.eml"]
    static let notEncryptedFixtures = ["fake-encrypted.eml", "literal.eml", "literal-after-pkesk.eml", "plain.eml",
                               "mdn.eml", "mailer-daemon.eml", "asm.eml", "securejoin-vc.eml",
                               "securejoin-vc-fake.eml", "three-parts.eml", "wrong-order.eml",
                               "version-2.eml", "truncated.eml", "seipd-before-pkesk.eml",
                               "bad-base64.eml", "empty-armor.eml"]

    @Test(arguments: encryptedBoth) func encryptedInBothDirections(name: String) throws {
        let message = try parsed(name)
        #expect(MessageKinds.isEncrypted(message, outgoing: true))
        #expect(MessageKinds.isEncrypted(message, outgoing: false))
    }

    @Test(arguments: notEncryptedFixtures) func notEncrypted(name: String) throws {
        let message = try parsed(name)
        #expect(!MessageKinds.isEncrypted(message, outgoing: true))
        #expect(!MessageKinds.isEncrypted(message, outgoing: false))
    }

    @Test func armorVersionHeaderOnlyIncoming() throws {
        let message = try parsed("encrypted-armor-version.eml")
        #expect(!MessageKinds.isEncrypted(message, outgoing: true))
        #expect(MessageKinds.isEncrypted(message, outgoing: false))
    }

    @Test func secureJoinOnlyTheRealRequest() throws {
        #expect(MessageKinds.isSecureJoin(try parsed("securejoin-vc.eml")))
        for name in ["securejoin-vc-fake.eml", "plain.eml", "encrypted.eml", "mdn.eml", "asm.eml"] {
            #expect(!MessageKinds.isSecureJoin(try parsed(name)), "\(name)")
        }
    }

    @Test func mailerDaemonBounce() throws {
        #expect(MessageKinds.isMailerDaemonBounce(try parsed("mailer-daemon.eml")))
        #expect(!MessageKinds.isMailerDaemonBounce(try parsed("mdn.eml")))
        #expect(!MessageKinds.isMailerDaemonBounce(try parsed("plain.eml")))
    }

    @Test func duplicateContentTypeIsNotEncrypted() throws {
        var text = String(decoding: Fixture.bytes("encrypted.eml"), as: UTF8.self)
        text = "Content-Type: text/plain\r\n" + text
        #expect(!MessageKinds.isEncrypted(try MIMEEntity.parse(Array(text.utf8)[...]), outgoing: true))
    }

    @Test func headerFoldingAndParameters() throws {
        let type = try #require(ContentType(strict: #"Multipart/Encrypted; protocol="application/pgp-encrypted"; BOUNDARY="a.b:c""#))
        #expect(type.type == "multipart/encrypted")
        #expect(type.parameters["boundary"] == "a.b:c")
        #expect(type.parameters["protocol"] == "application/pgp-encrypted")
        let message = try MIMEEntity.parse(Array("Subject: one\r\n two\r\n\r\nbody".utf8)[...])
        #expect(message.first("subject") == "one two")
        #expect(Array(message.body) == Array("body".utf8))
    }

    /// Parameters that Delta Chat's parser, Python's email and Thunderbird
    /// read differently are no Content-Type at all to the gate.
    @Test func ambiguousContentTypesAreRefused() {
        for value in [#"multipart/encrypted; boundary="a"; boundary="b""#,
                      #"multipart/encrypted; boundary=a; BOUNDARY=a"#,
                      #"multipart/encrypted; boundary*=utf-8''a"#,
                      #"multipart/encrypted; boundary*0="a"; boundary*1="b""#,
                      #"multipart/encrypted; boundary="a"b""#,
                      #"multipart/encrypted; boundary="a;b""#,
                      #"multipart/encrypted; x="=?utf-8?q?;boundary=b?="; boundary=a"#,
                      #"multipart/encrypted; boundary = a"#,
                      #"multipart/encrypted (comment); boundary=a"#,
                      #"multipart/encrypted; boundary="a" junk"#,
                      "multipart/encrypted boundary=a"] {
            #expect(ContentType(strict: value) == nil, "\(value)")
        }
        for boundary in ["a b", "a;b", "=?utf-8?q?a?=", String(repeating: "x", count: 71), "", "a\"b"] {
            #expect(!ContentType.isPlainBoundary(boundary), "\(boundary)")
        }
        #expect(ContentType.isPlainBoundary("------------Gl92xgZjO'()+_,-./:?="))
        #expect(ContentType(strict: "text/plain; charset=utf-8;") == ContentType(type: "text/plain", parameters: ["charset": "utf-8"]))
    }

    @Test func malformedHeaderIsAParseError() {
        #expect(throws: MIMEError.malformedHeader(line: 2)) {
            try MIMEEntity.parse(Array("From: a@b\r\nnot a header\r\n\r\n".utf8)[...])
        }
        #expect(throws: MIMEError.continuationFirst(line: 1)) {
            try MIMEEntity.parse(Array(" folded\r\n\r\n".utf8)[...])
        }
    }

    @Test func packetSequences() {
        let pkesk: [UInt8] = [0xC1, 3, 3, 0, 0]
        let skeskOld: [UInt8] = [0x8C, 2, 4, 9]  // legacy header, tag 3
        let seipd: [UInt8] = [0xD2, 3, 1, 0xAA, 0xBB]
        #expect(OpenPGPPayload.isEncryptedPacketSequence((pkesk + seipd)[...]))
        #expect(OpenPGPPayload.isEncryptedPacketSequence((skeskOld + pkesk + seipd)[...]))
        #expect(OpenPGPPayload.isEncryptedPacketSequence(seipd[...]))
        #expect(!OpenPGPPayload.isEncryptedPacketSequence([][...]))
        #expect(!OpenPGPPayload.isEncryptedPacketSequence(pkesk[...]))
        #expect(!OpenPGPPayload.isEncryptedPacketSequence((pkesk + seipd + pkesk)[...]))
        #expect(!OpenPGPPayload.isEncryptedPacketSequence((seipd + seipd)[...]))
        #expect(!OpenPGPPayload.isEncryptedPacketSequence((pkesk + seipd.dropLast())[...]), "truncated")
        #expect(!OpenPGPPayload.isEncryptedPacketSequence((pkesk + seipd + [0])[...]), "trailing byte")
        #expect(!OpenPGPPayload.isEncryptedPacketSequence([0xD2, 2, 3, 0][...]), "SEIPD version 3")
        #expect(!OpenPGPPayload.isEncryptedPacketSequence([0xD2, 0][...]), "empty SEIPD")
        #expect(!OpenPGPPayload.isEncryptedPacketSequence([0xCB, 2, 0x62, 0][...]), "literal data")
        #expect(!OpenPGPPayload.isEncryptedPacketSequence([0x01, 2, 0, 0][...]), "no packet tag bit")
        // Partial lengths: 0xE0 = 1-octet chunk, then a final 2-octet length.
        #expect(OpenPGPPayload.isEncryptedPacketSequence([0xD2, 0xE0, 1, 0xE1, 7, 7, 1, 9][...]))
        #expect(!OpenPGPPayload.isEncryptedPacketSequence([0xD2, 0xE1, 1][...]), "chunk past the end")
        #expect(!OpenPGPPayload.isEncryptedPacketSequence([0xC1, 0xE0, 3, 1, 0xD2, 1, 1][...]),
                "partial length on a session-key packet")
        // Four-octet length.
        #expect(OpenPGPPayload.isEncryptedPacketSequence([0xD2, 0xFF, 0, 0, 0, 2, 1, 0][...]))
        #expect(!OpenPGPPayload.isEncryptedPacketSequence([0xD2, 0xFF, 0, 0, 0][...]))
        // Two-octet length 192..8383.
        let two: [UInt8] = [0xD2, 0xC0, 0x00] + [1] + [UInt8](repeating: 0, count: 191)
        #expect(OpenPGPPayload.isEncryptedPacketSequence(two[...]))
        #expect(!OpenPGPPayload.isEncryptedPacketSequence(two.dropLast()[...]))
    }

    @Test func strictBase64() {
        #expect(Base64.decode(Array("aGk=".utf8)[...]) == Array("hi".utf8))
        #expect(Base64.decode(Array("aGkh".utf8)[...]) == Array("hi!".utf8))
        #expect(Base64.decode(Array("aGk".utf8)[...]) == nil)
        #expect(Base64.decode(Array("a=Gk".utf8)[...]) == nil)
        #expect(Base64.decode(Array("aGk=aGk=".utf8)[...]) == nil)
        #expect(Base64.decode(Array("aG k".utf8)[...]) == nil)
    }
}
