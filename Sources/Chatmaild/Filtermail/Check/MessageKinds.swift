/// The kinds of message the gate tells apart, each a pure function of the
/// parsed message.
enum MessageKinds {
    /// Strict PGP/MIME (RFC 3156): `multipart/encrypted` with exactly two
    /// non-multipart parts, `application/pgp-encrypted` saying `Version: 1`
    /// and `application/octet-stream` holding an encrypted armored payload.
    static func isEncrypted(_ message: MIMEEntity, outgoing: Bool) -> Bool {
        guard message.contentType?.type == "multipart/encrypted",
              let parts = try? message.parts(), parts.count == 2
        else { return false }
        let control = parts[0], payload = parts[1]
        guard control.contentType?.type == "application/pgp-encrypted",
              payload.contentType?.type == "application/octet-stream",
              let controlBody = decodedBody(control),
              Lines.trimmed(controlBody[...]).elementsEqual("Version: 1".utf8),
              let payloadBody = decodedBody(payload)
        else { return false }
        return OpenPGPPayload.isEncryptedArmor(payloadBody[...], outgoing: outgoing)
    }

    /// A Secure-Join request: the `Secure-Join: vc-request|vg-request`
    /// header and a multipart with one text/plain part saying the same.
    static func isSecureJoin(_ message: MIMEEntity) -> Bool {
        let requests = ["vc-request", "vg-request"]
        let headers = message.values("Secure-Join")
        guard headers.count == 1, requests.contains(headers[0]),
              message.contentType?.type == "multipart/mixed",
              let parts = try? message.parts(), parts.count == 1,
              parts[0].contentType?.type == "text/plain",
              let body = decodedBody(parts[0])
        else { return false }
        let text = Lines.trimmedString(body[...]).lowercased()
        return requests.contains { text == "secure-join: \($0)" }
    }

    /// A delivery status report from a mailer daemon (incoming only).
    static func isMailerDaemonBounce(_ message: MIMEEntity) -> Bool {
        guard let auto = message.first("Auto-Submitted"), !auto.isEmpty,
              let from = MessageKinds.fromAddress(message),
              ASCII.lowercased(from).hasPrefix("mailer-daemon@")
        else { return false }
        return message.contentType?.type == "multipart/report"
    }

    /// An Autocrypt Setup Message sent to oneself only (outgoing only).
    static func isSelfSentSetupMessage(_ message: MIMEEntity, envelope: Envelope) -> Bool {
        envelope.recipients.count == 1
            && MailPath.parse(envelope.recipients[0]).map { ASCII.same($0.canonical, envelope.sender) } == true
            && message.first("Subject") == "Autocrypt Setup Message"
            && message.contentType?.type == "multipart/mixed"
    }

    /// Part body with its transfer encoding undone. Quoted-printable and
    /// unknown encodings are not read (nil): no client sends PGP/MIME or a
    /// Secure-Join request that way, and guessing would widen the gate.
    static func decodedBody(_ part: MIMEEntity) -> [UInt8]? {
        let encodings = part.values("Content-Transfer-Encoding")
        guard encodings.count <= 1 else { return nil }
        switch ASCII.lowercased(encodings.first ?? "7bit") {
        case "7bit", "8bit", "binary":
            return Array(part.body)
        case "base64":
            return Base64.decode(part.body.filter { !Lines.isBlank($0) }[...])
        default:
            return nil
        }
    }
}

extension MessageKinds {
    /// The mailbox of the message's one `From:` header; nil when there is
    /// none, more than one, or it is not exactly one unambiguous mailbox.
    static func fromAddress(_ message: MIMEEntity) -> String? {
        let all = message.values("From")
        guard all.count == 1 else { return nil }
        return FromHeader.mailbox(all[0])
    }
}
