import Support
import ChatmailConfig

/// The link and QR code that create an account in Delta Chat.
public enum AccountInvite {
    /// `DCACCOUNT:https://<mail_domain>/new`; an IPv4 relay's domain is
    /// bracketed (`https://[1.2.3.4]/new`). The app POSTs to this URL and gets
    /// a fresh address and password back.
    public static func url(for config: ChatmailConfig) -> String {
        "DCACCOUNT:https://\(config.mailDomain)/new"
    }

    /// File name of the printable PNG, as the Python relay names it.
    public static func pngName(for config: ChatmailConfig) -> String {
        "qr-chatmail-invite-\(config.mailDomain).png"
    }

    public static func qrSVG(for config: ChatmailConfig) throws(QRCode.EncodingError) -> String {
        try QRCode.encode(url(for: config)).svg(label: "QR code: create a chatmail account on \(config.mailDomain)")
    }

    public static func qrPNG(for config: ChatmailConfig) throws(QRCode.EncodingError) -> [UInt8] {
        try QRCode.encode(url(for: config)).png()
    }
}
