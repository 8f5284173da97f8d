/// The components of a chatmail relay, in deploy order (reference §3.2):
/// every stage runs through them front to back, and services restart in this
/// order, so Dovecot (which creates the auth socket) comes before Postfix.
public enum Relay {
    public static func components(for context: DeployContext) -> [any Component] {
        var list: [any Component] = []
        list.append(Base())            // ChatmailDeployer
        list.append(LegacyRemove())    // LegacyRemoveDeployer
        // FiltermailDeployer
        list.append(Journald())        // JournaldDeployer
        list.append(Unbound())         // UnboundDeployer
        list.append(Turn())            // TurnDeployer
        list.append(Iroh())            // IrohDeployer
        list.append(TLS())             // the TLS deployer of the config's mode
        list.append(Website())         // WebsiteDeployer
        list.append(Chatmaild())       // ChatmailVenvDeployer
        list.append(Mtasts())          // MtastsDeployer
        // OpendkimDeployer, DovecotDeployer, PostfixDeployer
        list.append(Fcgiwrap())        // FcgiwrapDeployer
        list.append(Nginx())           // NginxDeployer
        list.append(Mtail())           // MtailDeployer
        list.append(Version())         // GithashDeployer
        _ = context
        return list
    }
}
