/// The DKIM TXT record of selector "opendkim" (the selector OpenDKIM signs with).
public enum DKIMRecord {
    /// A TXT string holds at most 255 bytes (RFC 1035 character-string);
    /// longer values are published as several strings that DKIM verifiers
    /// concatenate (RFC 6376 3.6.2.2).
    public static let maxStringLength = 255

    public static func name(_ domain: String) -> String { "opendkim._domainkey.\(domain)." }

    /// The record value for a base64 SubjectPublicKeyInfo, in the Python tool's spelling.
    public static func value(publicKey: String) -> String {
        "v=DKIM1;k=rsa;p=\(publicKey);s=email;t=s"
    }

    /// The value as zone-file rdata: quoted strings of at most 255 bytes each.
    public static func splitRdata(_ value: String) -> String {
        // The value is base64 and ASCII, so characters are bytes.
        var chunks: [String] = []
        var rest = Substring(value)
        repeat {
            chunks.append(String(rest.prefix(maxStringLength)))
            rest = rest.dropFirst(maxStringLength)
        } while !rest.isEmpty
        return chunks.map { "\"\($0)\"" }.joined(separator: " ")
    }

    /// The one-string form some DNS provider web panels want instead.
    public static func webLine(domain: String, publicKey: String) -> String {
        pad(name(domain), 40) + " 3600   IN  TXT    \"\(value(publicKey: publicKey))\""
    }
}
