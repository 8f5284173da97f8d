import Testing
@testable import Chatmaild

/// Checks in order, with the reply texts of filtermail 0.7.4.
@Suite struct PolicyTests {
    let alice = "alice@c.test", bob = "bob@c.test"

    func outgoing(_ name: String, from: String? = nil, to: [String]? = nil, header: String? = nil) -> MailPolicy.Verdict {
        let envelope = Envelope(sender: from ?? alice, recipients: to ?? [bob])
        let policy = MailPolicy(mode: .outgoing, flags: MailboxFlags(enforcesE2EE: { _ in true }))
        return policy.judge(envelope, message: Fixture.bytes(name, from: header ?? alice, to: bob)).verdict
    }

    func incoming(_ name: String, to: [String], enforced: Set<String>) -> (MailPolicy.Verdict, [String]) {
        let policy = MailPolicy(mode: .incoming, flags: MailboxFlags(enforcesE2EE: { enforced.contains($0) }))
        let result = policy.judge(Envelope(sender: "carol@other.test", recipients: to),
                                  message: Fixture.bytes(name, from: "carol@other.test", to: to[0]))
        return (result.verdict, result.log)
    }

    @Test func outgoingVerdicts() {
        #expect((outgoing("encrypted.eml")).isAccepted)
        #expect((outgoing("securejoin-vc.eml")).isAccepted)
        for name in ["plain.eml", "fake-encrypted.eml", "literal.eml", "mdn.eml", "securejoin-vc-fake.eml",
                     "encrypted-armor-version.eml", "three-parts.eml"] {
            #expect(outgoing(name) == .reject(.encryptionNeeded), "\(name)")
        }
        // A bounce has its own From:, so outgoing it fails the sender check first.
        #expect(outgoing("mailer-daemon.eml")
                == .reject(SMTPReply(500, "Invalid FROM MAILER-DAEMON@example.org for alice@c.test")))
    }

    @Test func outgoingLogLines() {
        let policy = MailPolicy(mode: .outgoing, flags: MailboxFlags(enforcesE2EE: { _ in false }))
        let env = Envelope(sender: alice, recipients: [bob])
        #expect(policy.judge(env, message: Fixture.bytes("encrypted.eml")).log == ["Outgoing: Filtering encrypted mail."])
        #expect(policy.judge(env, message: Fixture.bytes("plain.eml")).log
                == ["Outgoing: Filtering unencrypted mail.", "Rejected unencrypted mail from: alice@c.test"])
    }

    @Test func fromHeaderMustMatchEnvelope() {
        #expect(outgoing("encrypted.eml", header: "mallory@c.test")
                == .reject(SMTPReply(500, "Invalid FROM mallory@c.test for alice@c.test")))
        #expect((outgoing("encrypted.eml", header: "ALICE@C.test")).isAccepted)
        #expect(outgoing("encrypted.eml", header: "no address")
                == .reject(SMTPReply(500, "Invalid FROM header: <no address>")))
    }

    @Test func fromHeaderAddresses() {
        #expect(FromHeader.mailbox("Alice <alice@c.test>") == "alice@c.test")
        #expect(FromHeader.mailbox("\"Doe, J\" <j@c.test>") == "j@c.test")
        #expect(FromHeader.mailbox("MAILER-DAEMON@x.test (Mail (Delivery) System)") == "MAILER-DAEMON@x.test")
        #expect(FromHeader.mailbox("a@b.test, c@d.test") == nil)
        #expect(FromHeader.mailbox("mailer-daemon@x.test\rforged log line") == nil)
        #expect(FromHeader.mailbox("<broken@x.test") == nil)
        // Found by the fuzzer: a control character inside a quoted local part.
        #expect(FromHeader.mailbox("\"AA\t\"@x.test") == nil)
        #expect(FromHeader.mailbox("\"a\\\u{1}\"@x.test") == nil)
        // ... and DEL or non-ASCII inside a domain literal.
        #expect(FromHeader.mailbox("a@[_\"\u{7f}]") == nil)
        #expect(FromHeader.mailbox("a@[1.2.3.\u{e9}]") == nil)
        #expect(FromHeader.mailbox("a@[192.0.2.1]") == "a@[192.0.2.1]")
    }

    @Test func autocryptSetupMessageOnlyToSelf() {
        #expect((outgoing("asm.eml", to: [alice])).isAccepted)
        #expect(outgoing("asm.eml", to: [bob]) == .reject(.encryptionNeeded))
        #expect(outgoing("asm.eml", to: [alice, bob]) == .reject(.encryptionNeeded))
    }

    @Test func unparsableMessage() {
        let policy = MailPolicy(mode: .outgoing, flags: MailboxFlags(enforcesE2EE: { _ in true }))
        let verdict = policy.judge(Envelope(sender: alice, recipients: [bob]),
                                   message: Array("From: alice@c.test\r\nbroken\r\n\r\nx\r\n".utf8)).verdict
        #expect(verdict == .reject(SMTPReply(500, "Failed to parse message: malformed header field on line 2")))
    }

    @Test func incomingVerdicts() {
        #expect((incoming("encrypted.eml", to: [bob], enforced: [bob]).0).isAccepted)
        #expect((incoming("encrypted-armor-version.eml", to: [bob], enforced: [bob]).0).isAccepted)
        #expect((incoming("securejoin-vc.eml", to: [bob], enforced: [bob]).0).isAccepted)
        #expect(incoming("plain.eml", to: [bob], enforced: [bob]).0 == .reject(.encryptionNeeded))
        #expect((incoming("plain.eml", to: [bob], enforced: []).0).isAccepted)
        #expect(incoming("plain.eml", to: ["x@c.test", bob], enforced: [bob]).0 == .reject(.encryptionNeeded))
        #expect(incoming("mdn.eml", to: [bob], enforced: [bob]).0 == .reject(.encryptionNeeded))
        let bounce = incoming("mailer-daemon.eml", to: [bob], enforced: [bob])
        #expect((bounce.0).isAccepted)
        #expect(bounce.1.last == "Incoming: Filtering mailer-daemon message from MAILER-DAEMON@example.org")
    }

    @Test func recipientsThatCannotNameAMailboxRefuseCleartext() {
        let none = MailPolicy(mode: .incoming, flags: MailboxFlags(enforcesE2EE: { _ in false }))
        #expect(none.refusesCleartext(""))
        #expect(none.refusesCleartext("bob"))
        #expect(none.refusesCleartext("../x@c.test"))
        #expect(!none.refusesCleartext("bob@c.test"))
        let bobOnly = MailPolicy(mode: .incoming, flags: MailboxFlags(enforcesE2EE: { $0 == "bob@c.test" }))
        #expect(bobOnly.refusesCleartext("bob+tag@c.test"))
    }
}

extension MailPolicy.Verdict {
    var isAccepted: Bool { if case .accept = self { true } else { false } }
}

@Suite struct RateLimiterTests {
    @Test func burstThenOnePerInterval() {
        var limiter = RateLimiter(perMinute: 60, burst: 10)
        for i in 0..<10 { #expect(limiter.check("a@x", now: 100) == nil, "message \(i)") }
        let wait = limiter.check("a@x", now: 100)
        #expect(wait != nil && abs(wait! - 1.0) < 1e-9)
        #expect(limiter.check("b@x", now: 100) == nil, "other senders are not affected")
        #expect(limiter.check("a@x", now: 100.5) != nil)
        #expect(limiter.check("a@x", now: 101.0) == nil)
        #expect(limiter.check("a@x", now: 101.0) != nil)
        #expect(limiter.check("a@x", now: 102.0) == nil)
        // After a quiet period the full burst is back.
        for _ in 0..<10 { #expect(limiter.check("a@x", now: 200) == nil) }
        #expect(limiter.check("a@x", now: 200) != nil)
    }

    @Test func memoryIsBoundedByActiveSenders() {
        var limiter = RateLimiter(perMinute: 60, burst: 2)
        for i in 0..<5000 { _ = limiter.check("s\(i)@x", now: 0) }
        for i in 0..<2048 { _ = limiter.check("t\(i)@x", now: 1000) }
        #expect(limiter.trackedSenders < 2100)
    }
}

@Suite struct SMTPCommandTests {
    func parse(_ s: String) -> SMTPCommand { SMTPCommand.parse(Array(s.utf8)[...]) }

    @Test func commands() {
        #expect(parse("EHLO relay.example") == .hello(extended: true))
        #expect(parse("helo x") == .hello(extended: false))
        #expect(parse("MAIL FROM:<Alice@C.test> SIZE=123 BODY=8BITMIME") == .mail("alice@c.test"))
        #expect(parse("mail from: <alice@c.test>") == .mail("alice@c.test"))
        #expect(parse("MAIL FROM:alice@c.test") == .mail("alice@c.test"))
        #expect(parse("MAIL FROM:<>") == .mail(""))
        #expect(parse("MAIL FROM:<alice@c.test") == .badMailAddress)
        #expect(parse("MAIL TO:<alice@c.test>") == .badMailAddress)
        #expect(parse("RCPT TO:<Bob@c.test> NOTIFY=NEVER ORCPT=rfc822;bob@c.test") == .rcpt("bob@c.test"))
        #expect(parse("RCPT TO:<>") == .badRecipientAddress)
        #expect(parse("DATA") == .data)
        #expect(parse("data") == .data)
        #expect(parse("DATA x") == .unknown)
        #expect(parse("RSET") == .reset)
        #expect(parse("NOOP") == .noop)
        #expect(parse("QUIT") == .quit)
        #expect(parse("STARTTLS") == .unknown)
        #expect(parse("") == .unknown)
    }
}
