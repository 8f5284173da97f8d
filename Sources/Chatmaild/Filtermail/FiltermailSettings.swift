import ChatmailConfig
import NIOCore

/// Everything one filtermail instance needs, taken from chatmail.ini plus
/// the limits that keep a stalled or hostile peer from pinning resources.
public struct FiltermailSettings: Sendable {
    public var mode: FilterMode
    public var listenHost = "127.0.0.1"
    /// 0 picks a free port (tests).
    public var listenPort: Int
    /// The incoming `/mxdeliv` HTTP listener (nginx forwards to it); nil
    /// for none. 0 picks a free port (tests).
    public var httpListenPort: Int?
    public var mailDomain: String
    public var reinjectHost = "127.0.0.1"
    public var reinjectPort: Int
    public var maxMessageSize: Int
    public var maxUserSendPerMinute: Int
    public var maxUserSendBurstSize: Int
    public var mailboxesDir: String
    /// No bytes from the client for this long closes the session
    /// (Postfix's own smtpd_timeout is 300 s).
    public var idleTimeout: TimeAmount = .seconds(300)
    /// Upper bound for one whole session, however busy.
    public var sessionTimeout: TimeAmount = .seconds(3600)
    /// Wait for each reply of the re-inject Postfix.
    public var reinjectTimeout: TimeAmount = .seconds(120)
    /// Postfix's smtpd_recipient_limit default.
    public var maxRecipients = 1000
    /// Idle re-inject connections kept per event loop for reuse.
    public var maxIdleReinjectConnections = 16

    /// The settings of one mode from chatmail.ini, through the init below.
    public init(config: ChatmailConfig, mode: FilterMode) {
        let outgoing = mode == .outgoing
        self.init(mode: mode,
                  listenPort: outgoing ? config.filtermailSMTPPort : config.filtermailSMTPPortIncoming,
                  reinjectPort: outgoing ? config.postfixReinjectPort : config.postfixReinjectPortIncoming,
                  maxMessageSize: config.maxMessageSize, maxUserSendPerMinute: config.maxUserSendPerMinute,
                  maxUserSendBurstSize: config.maxUserSendBurstSize, mailboxesDir: config.mailboxesDir,
                  mailDomain: config.mailDomain, httpListenPort: outgoing ? nil : config.filtermailHTTPPortIncoming)
    }

    public init(mode: FilterMode, listenPort: Int, reinjectPort: Int, maxMessageSize: Int = 31_457_280,
                maxUserSendPerMinute: Int = 60, maxUserSendBurstSize: Int = 10, mailboxesDir: String,
                mailDomain: String = "c.test", httpListenPort: Int? = nil) {
        self.mode = mode
        self.mailDomain = mailDomain
        self.httpListenPort = httpListenPort
        self.listenPort = listenPort
        self.reinjectPort = reinjectPort
        self.maxMessageSize = maxMessageSize
        self.maxUserSendPerMinute = maxUserSendPerMinute
        self.maxUserSendBurstSize = maxUserSendBurstSize
        self.mailboxesDir = mailboxesDir
    }
}
