/// The verdict on one message: pure, so it is unit-tested and fuzzed
/// without a socket. The order of the checks and the reply texts follow the
/// relay's filtermail (reference §5.9).
struct MailPolicy {
    var mode: FilterMode
    /// Tells whether `<mailboxes_dir>/<addr>/enforceE2EEincoming` exists.
    var enforcesE2EE: (String) -> Bool

    enum Verdict: Equatable {
        case accept
        case reject(SMTPReply)
    }

    /// The verdict and the log lines to write for it (never message content).
    func judge(_ envelope: Envelope, message bytes: [UInt8]) -> (verdict: Verdict, log: [String]) {
        let message: MIMEEntity
        do {
            message = try MIMEEntity.parse(bytes[...])
        } catch {
            return (.reject(SMTPReply(500, "Failed to parse message: \(error)")), [])
        }
        switch mode {
        case .outgoing: return judgeOutgoing(envelope, message)
        case .incoming: return judgeIncoming(envelope, message)
        }
    }

    private func judgeOutgoing(_ envelope: Envelope, _ message: MIMEEntity) -> (verdict: Verdict, log: [String]) {
        let header = message.first("From") ?? ""
        guard let from = MailAddress.fromHeader(header) else {
            return (.reject(SMTPReply(500, "Invalid FROM header: \(header)")), [])
        }
        guard from.lowercased() == envelope.sender else {
            return (.reject(SMTPReply(500, "Invalid FROM \(from) for \(envelope.sender)")), [])
        }
        if MessageKinds.isEncrypted(message, outgoing: true) || MessageKinds.isSecureJoin(message) {
            return (.accept, ["Outgoing: Filtering encrypted mail."])
        }
        var log = ["Outgoing: Filtering unencrypted mail."]
        if MessageKinds.isSelfSentSetupMessage(message, envelope: envelope) {
            return (.accept, log)
        }
        log.append("Rejected unencrypted mail from: \(envelope.sender)")
        return (.reject(.encryptionNeeded), log)
    }

    private func judgeIncoming(_ envelope: Envelope, _ message: MIMEEntity) -> (verdict: Verdict, log: [String]) {
        if MessageKinds.isEncrypted(message, outgoing: false) || MessageKinds.isSecureJoin(message) {
            return (.accept, ["Incoming: Filtering encrypted mail."])
        }
        var log = ["Incoming: Filtering unencrypted mail."]
        if MessageKinds.isMailerDaemonBounce(message) {
            let from = message.first("From").flatMap(MailAddress.fromHeader) ?? ""
            log.append("Incoming: Filtering mailer-daemon message from \(from)")
            return (.accept, log)
        }
        for recipient in envelope.recipients where Self.refusesCleartext(recipient, enforcesE2EE) {
            log.append("Rejected unencrypted mail from: \(envelope.sender)")
            return (.reject(.encryptionNeeded), log)
        }
        return (.accept, log)
    }

    /// A recipient refuses cleartext when its mailbox carries the flag file,
    /// or when the address cannot name a mailbox safely. The address without
    /// a `+extension` is checked too, since Postfix delivers it to the same
    /// mailbox (recipient_delimiter = +).
    static func refusesCleartext(_ recipient: String, _ enforcesE2EE: (String) -> Bool) -> Bool {
        guard !recipient.isEmpty, recipient.contains("@"), !recipient.contains("/"),
              recipient != ".", recipient != ".."
        else { return true }
        if enforcesE2EE(recipient) { return true }
        if let at = recipient.lastIndex(of: "@"), let plus = recipient[..<at].firstIndex(of: "+") {
            return enforcesE2EE(String(recipient[..<plus] + recipient[at...]))
        }
        return false
    }
}

/// One SMTP reply: a code and one or more text lines.
struct SMTPReply: Equatable, Sendable {
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
