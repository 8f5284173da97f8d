import Testing
@testable import Chatmaild

/// The classes of hostile mail the gate once let through, one test each.
/// The adversarial suite (scripts/test-filtermail-adversarial) replays many
/// more, made with real gpg, over SMTP and through Postfix.
@Suite struct HostileTests {
    let alice = "alice@c.test", bob = "bob@c.test", carol = "carol@other.test"

    func text(_ name: String, from: String = "alice@c.test") -> String {
        String(decoding: Fixture.bytes(name, from: from), as: UTF8.self)
    }

    func incoming(_ message: String, to: [String], from: String = "carol@other.test",
                  enforced: Set<String> = ["bob@c.test"], disabled: Set<String> = []) -> MailPolicy.Verdict {
        let policy = MailPolicy(mode: .incoming, flags: MailboxFlags(enforcesE2EE: { enforced.contains($0) },
                                                                      isDisabled: { disabled.contains($0) }))
        return policy.judge(Envelope(sender: from, recipients: to), message: Array(message.utf8)).verdict
    }

    func outgoing(_ message: String, from: String = "alice@c.test", to: [String] = ["bob@c.test"],
                  disabled: Set<String> = []) -> MailPolicy.Verdict {
        let policy = MailPolicy(mode: .outgoing, flags: MailboxFlags(enforcesE2EE: { _ in true },
                                                                      isDisabled: { disabled.contains($0) }))
        return policy.judge(Envelope(sender: from, recipients: to), message: Array(message.utf8)).verdict
    }

    // 1. Recipient spelling

    @Test(arguments: [#""bob"@c.test"#, #""b\ob"@c.test"#, "@x.test:bob@c.test", "@a,@b:bob@c.test",
                      "bob@c.test.", "bob%c.test@c.test", "c.test!bob@c.test", #""bob+x"@c.test"#,
                      "bob+x@c.test", "bob@c.test@c.test", #""bob@c.test"@c.test"#, "bob", "bob@[127.0.0.1]",
                      "b..ob@c.test", ".bob@c.test", "bob@c..test"])
    func cleartextToAnyOtherSpellingIsRefused(_ recipient: String) {
        let plain = text("plain.eml", from: carol)
        #expect(incoming(plain, to: [recipient]) == .reject(.encryptionNeeded), "\(recipient)")
        #expect(incoming(text("encrypted.eml", from: carol), to: [recipient]).isAccepted, "encrypted still passes")
    }

    @Test func canonicalForms() {
        #expect(MailPath.parse(#""B\ob"@C.Test."#) == MailPath(local: "bob", domain: "c.test", isPlain: false))
        #expect(MailPath.parse("@x:bob@c.test") == MailPath(local: "bob", domain: "c.test", isPlain: false))
        #expect(MailPath.parse("Bob@C.test") == MailPath(local: "bob", domain: "c.test", isPlain: true))
        #expect(MailPath.parse("bob_x@_relay2.test")?.isPlain == true)
        #expect(MailPath.parse("ſob@c.test")?.isPlain == false, "non-ASCII is never plain")
        #expect(MailPath.parse("KELVIN\u{212A}@c.test")?.local == "kelvin\u{212A}", "only A-Z is lower-cased")
        #expect(MailPath.parse("") == nil)
        #expect(MailPath.parse("@x:") == nil)
        #expect(MailPath.parse(#""unterminated@c.test"#) == nil)
        #expect(MailPath.parse("bob@c.test")?.withoutExtension == nil)
        #expect(MailPath.parse("bob+a+b@c.test")?.withoutExtension == "bob@c.test")
    }

    // 2. MIME structure that two readers see differently

    @Test func ambiguousStructureIsRefused() {
        let encrypted = text("encrypted.eml")
        let boundary = "Zm1iNzMyOGM0"
        let variants: [(String, String)] = [
            ("duplicate boundary", encrypted.replacingOccurrences(
                of: "boundary=\"\(boundary)\"", with: "boundary=\"\(boundary)\"; boundary=\"other\"")),
            ("RFC 2231 boundary", encrypted.replacingOccurrences(
                of: "boundary=\"\(boundary)\"", with: "boundary*=''\(boundary)")),
            ("encoded-word boundary", encrypted.replacingOccurrences(
                of: "boundary=\"\(boundary)\"", with: "boundary=\"=?us-ascii?q?\(boundary)?=\"")),
            ("prefix delimiter in preamble", encrypted.replacingOccurrences(
                of: "\r\n\r\n--\(boundary)\r\n", with: "\r\n\r\n--\(boundary)X\r\nContent-Type: text/plain\r\n\r\nHELLO\r\n--\(boundary)\r\n")),
            ("padded delimiter", encrypted.replacingOccurrences(of: "--\(boundary)\r\nContent-Type: application/octet",
                                                                 with: "--\(boundary) \r\nContent-Type: application/octet")),
            ("text after the close", encrypted + "--\(boundary)\r\nContent-Type: text/plain\r\n\r\nHELLO\r\n"),
            ("bare CR in a header", encrypted.replacingOccurrences(of: "Chat-Version: 1.0\r\n",
                                                                    with: "Chat-Version: 1.0\rContent-Type: text/plain\r\n")),
            ("bare CR in a part header", encrypted.replacingOccurrences(
                of: "Content-Description: OpenPGP encrypted message\r\n",
                with: "Content-Description: x\rContent-Type: text/plain\r\n")),
            ("blank-only line in the header", encrypted.replacingOccurrences(of: "Chat-Version: 1.0\r\n", with: "Chat-Version: 1.0\r\n \r\n")),
            ("transfer-encoded multipart", encrypted.replacingOccurrences(of: "MIME-Version: 1.0\r\n",
                                                                          with: "MIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n")),
        ]
        for (name, message) in variants {
            #expect(outgoing(message) == .reject(.encryptionNeeded), "\(name)")
            #expect(incoming(message, to: [bob], from: alice) == .reject(.encryptionNeeded), "\(name)")
        }
        #expect(outgoing(encrypted).isAccepted, "the untouched message passes")
    }

    @Test func bareCRAndLFInABodyAreInvalidData() {
        let plain = text("plain.eml", from: carol)
        for bad in [plain + "x\rRCPT TO:<z@y>\r\n", plain + "x\n.\n", plain + "nul\u{0}\r\n", String(plain.dropLast(2))] {
            #expect(incoming(bad, to: ["legacy@c.test"]) == .reject(SMTPReply(500, "Invalid DATA")))
        }
    }

    // 3. From forgery

    @Test func forgedFromIsRefused() {
        let encrypted = text("encrypted.eml")
        func with(_ from: String) -> String {
            encrypted.replacingOccurrences(of: "From: <alice@c.test>\r\n", with: "From: \(from)\r\n")
        }
        for from in ["bob@c.test (<alice@c.test>)", "<bob@c.test>, <alice@c.test>", "mallory@x <alice@c.test>",
                     "alice@c.test (a@b)", "Group: alice@c.test;", "<alice@c.test> x", "alice @ c.test",
                     "=?utf-8?q?bob@c.test?= <alice@c.test>", "al\u{130}ce@c.test", "\u{212A}alice@c.test"] {
            #expect(outgoing(with(from), from: alice).isRejected(code: 500), "\(from)")
        }
        let twice = with("<alice@c.test>\r\nFrom: <bob@c.test>")
        #expect(outgoing(twice).isRejected(code: 500), "two From headers")
        for from in ["\"bob@c.test\" <alice@c.test>", "Alice <ALICE@c.test>", "alice@c.test (Alice)", "J. Doe <alice@c.test>"] {
            #expect(outgoing(with(from)).isAccepted, "\(from)")
        }
        let two = encrypted.replacingOccurrences(of: "Chat-Version: 1.0\r\n",
                                                 with: "Secure-Join: vc-request\r\nSecure-Join: vc-auth-required\r\n")
        #expect(outgoing(two) == .reject(.encryptionNeeded), "two Secure-Join headers")
    }

    @Test func incomingForeignFromIsDeliveredWithTheNullSender() {
        let forged = text("encrypted.eml", from: "ceo@bank.test")
        #expect(incoming(forged, to: [bob]) == .accept(Envelope(sender: "", recipients: [bob])))
        let honest = text("encrypted.eml", from: carol)
        #expect(incoming(honest, to: [bob]) == .accept(Envelope(sender: carol, recipients: [bob])))
    }

    // The DISABLED flag (filtermail 0.7.4)

    @Test func disabledMailboxesAreDropped() {
        let encrypted = text("encrypted.eml", from: carol)
        #expect(incoming(encrypted, to: [bob, "old@c.test"], disabled: ["old@c.test"])
                == .accept(Envelope(sender: carol, recipients: [bob])))
        #expect(incoming(encrypted, to: [#""old"@c.test"#], disabled: ["old@c.test"])
                == .accept(Envelope(sender: carol, recipients: [])))
        #expect(outgoing(text("encrypted.eml"), disabled: [alice]) == .accept(Envelope(sender: alice, recipients: [])))
        #expect(outgoing(text("plain.eml"), disabled: [alice]) == .reject(.encryptionNeeded))
    }
}

extension MailPolicy.Verdict {
    func isRejected(code: Int) -> Bool { if case .reject(let reply) = self { reply.code == code } else { false } }
}
