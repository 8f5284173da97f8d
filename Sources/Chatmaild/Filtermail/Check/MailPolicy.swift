/// The verdict on one message: pure, so it is unit-tested and fuzzed
/// without a socket. The order of the checks and the reply texts follow the
/// relay's filtermail 0.7.4 (the Rust gate upstream ships since 2026), with
/// stricter reading where two mail readers could disagree.
struct MailPolicy {
    var mode: FilterMode
    /// The flag files of a mailbox, looked up by canonical address.
    var flags: MailboxFlags

    enum Verdict: Equatable {
        /// Re-inject with this envelope (the sender may be emptied, disabled
        /// recipients removed). No recipients left: answer 250, drop.
        case accept(Envelope)
        case reject(SMTPReply)
    }

    /// The verdict and the log lines to write for it (never message content).
    func judge(_ envelope: Envelope, message bytes: [UInt8]) -> (verdict: Verdict, log: [String]) {
        switch DataCheck.problem(in: bytes) {
        case .invalidData: return (.reject(DataCheck.invalidData), [])
        case .bareCRInHeader:
            return (.reject(.encryptionNeeded), ["Rejected unencrypted mail from: \(envelope.sender)"])
        case nil: break
        }
        let message: MIMEEntity
        do {
            message = try MIMEEntity.parse(bytes[...])
        } catch MIMEError.ambiguous {
            return (.reject(.encryptionNeeded), ["Rejected unencrypted mail from: \(envelope.sender)"])
        } catch {
            return (.reject(SMTPReply(500, "Failed to parse message: \(error)")), [])
        }
        switch mode {
        case .outgoing: return judgeOutgoing(envelope, message)
        case .incoming: return judgeIncoming(envelope, message)
        }
    }

    private func judgeOutgoing(_ envelope: Envelope, _ message: MIMEEntity) -> (verdict: Verdict, log: [String]) {
        let headers = message.values("From")
        guard let from = MessageKinds.fromAddress(message) else {
            return (.reject(SMTPReply(500, "Invalid FROM header: \(headers.joined(separator: ", "))")), [])
        }
        guard ASCII.same(ASCII.lowercased(from), envelope.sender) else {
            return (.reject(SMTPReply(500, "Invalid FROM \(from) for \(envelope.sender)")), [])
        }
        let delivery = Envelope(sender: envelope.sender, recipients: envelope.recipients.filter { !isDisabled($0) })
        // Delta Chat reads the last of several Secure-Join headers, we the one.
        guard message.values("Secure-Join").count <= 1 else {
            return (.reject(.encryptionNeeded), ["Rejected unencrypted mail from: \(envelope.sender)"])
        }
        var log: [String]
        if MessageKinds.isEncrypted(message, outgoing: true) || MessageKinds.isSecureJoin(message) {
            log = ["Outgoing: Filtering encrypted mail."]
        } else {
            log = ["Outgoing: Filtering unencrypted mail."]
            guard MessageKinds.isSelfSentSetupMessage(message, envelope: envelope) else {
                log.append("Rejected unencrypted mail from: \(envelope.sender)")
                return (.reject(.encryptionNeeded), log)
            }
        }
        // A disabled account's mail is taken and dropped, as upstream does.
        if flags.isDisabled(envelope.sender) { return (.accept(Envelope(sender: envelope.sender, recipients: [])), log) }
        return (.accept(delivery), log)
    }

    private func judgeIncoming(_ envelope: Envelope, _ message: MIMEEntity) -> (verdict: Verdict, log: [String]) {
        // A From: that is not the envelope sender is delivered, but with
        // the null sender, so that a bounce never goes to a forged address
        // (filtermail#67). An unreadable From: counts as different.
        let from = MessageKinds.fromAddress(message)
        let sender = MailPath.parse(envelope.sender)?.canonical
        let sameSender = from != nil && sender != nil && ASCII.same(ASCII.lowercased(from!), sender!)
        let delivery = Envelope(sender: sameSender ? envelope.sender : "",
                                recipients: envelope.recipients.filter { !isDisabled($0) })
        guard message.values("Secure-Join").count <= 1 else {
            return (.reject(.encryptionNeeded), ["Rejected unencrypted mail from: \(envelope.sender)"])
        }
        if MessageKinds.isEncrypted(message, outgoing: false) || MessageKinds.isSecureJoin(message) {
            return (.accept(delivery), ["Incoming: Filtering encrypted mail."])
        }
        var log = ["Incoming: Filtering unencrypted mail."]
        if MessageKinds.isMailerDaemonBounce(message) {
            log.append("Incoming: Filtering mailer-daemon message from \(from ?? "")")
            return (.accept(delivery), log)
        }
        for recipient in envelope.recipients where refusesCleartext(recipient) {
            log.append("Rejected unencrypted mail from: \(envelope.sender)")
            return (.reject(.encryptionNeeded), log)
        }
        return (.accept(delivery), log)
    }

    /// A recipient refuses cleartext when its mailbox carries the flag file,
    /// or when it is spelled any other way than plain `local@domain`: quoted,
    /// routed, with a trailing dot, `%` or `!` — forms Postfix may resolve
    /// to a mailbox other than the one the text names. The address without
    /// a `+extension` is checked too (recipient_delimiter = +).
    func refusesCleartext(_ recipient: String) -> Bool {
        guard let path = MailPath.parse(recipient), path.isPlain, path.isSafeMailboxName else { return true }
        if flags.enforcesE2EE(path.canonical) { return true }
        if let base = path.withoutExtension { return flags.enforcesE2EE(base) }
        return false
    }

    /// `DISABLED` in the mailbox of the address (or of its base address).
    func isDisabled(_ recipient: String) -> Bool {
        guard let path = MailPath.parse(recipient), path.isSafeMailboxName else { return false }
        if flags.isDisabled(path.canonical) { return true }
        if let base = path.withoutExtension { return flags.isDisabled(base) }
        return false
    }
}

/// Looks up a mailbox's flag files; canonical addresses only.
struct MailboxFlags: @unchecked Sendable {
    /// `<mailboxes_dir>/<addr>/enforceE2EEincoming` exists.
    var enforcesE2EE: (String) -> Bool
    /// `<mailboxes_dir>/<addr>/DISABLED` exists.
    var isDisabled: (String) -> Bool

    init(enforcesE2EE: @escaping (String) -> Bool, isDisabled: @escaping (String) -> Bool = { _ in false }) {
        self.enforcesE2EE = enforcesE2EE
        self.isDisabled = isDisabled
    }
}

/// One SMTP reply: a code and one or more text lines.
struct SMTPReply: Equatable, Sendable, Error {
    var code: Int
    var lines: [String]

    init(_ code: Int, _ text: String) {
        self.code = code
        self.lines = [text]
    }

    init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines.isEmpty ? [""] : lines
    }

    static let ok = SMTPReply(250, "OK")
    static let encryptionNeeded = SMTPReply(523, "Encryption Needed: Invalid Unencrypted Mail")

    var isPositive: Bool { code >= 200 && code < 400 }

    /// Wire form, multi-line replies as `code-text` ... `code text`.
    var wire: String {
        var out = ""
        for (i, line) in lines.enumerated() {
            out += "\(code)\(i == lines.count - 1 ? " " : "-")\(line)\r\n"
        }
        return out
    }
}
