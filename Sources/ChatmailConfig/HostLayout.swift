/// The files on a relay that both programs name: cmdeploy installs or
/// reports them, chatmaild reads them. One definition, so the two cannot
/// drift apart.
public enum HostLayout {
    /// Where the deploy puts chatmail.ini for the services.
    public static let iniPath = "/usr/local/lib/chatmaild/chatmail.ini"
    /// While this file exists, doveauth creates no new addresses (the
    /// operator's emergency switch; existing accounts keep working).
    public static let nocreatePath = "/etc/chatmail-nocreate"
    /// In a mailbox directory: incoming cleartext mail is refused.
    public static let enforceE2EEFlag = "enforceE2EEincoming"
}
