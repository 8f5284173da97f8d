/// The components of a chatmail relay, in the Python deploy's order:
/// every stage runs through them front to back, and services restart in this
/// order, so Dovecot (which creates the auth socket) comes before Postfix.
public enum Relay {
    public static func components(for context: DeployContext) -> [any Component] {
        // `--website-only`: nothing but the pages.
        if context.websiteOnly { return [Website()] }
        var list: [any Component] = []
        list.append(Base())            // ChatmailDeployer
        list.append(LegacyRemove())    // LegacyRemoveDeployer
        list.append(Journald())        // JournaldDeployer
        list.append(Unbound())         // UnboundDeployer
        if PinnedProgram.turn.source(context) != nil { list.append(Turn()) }   // TurnDeployer
        if PinnedProgram.iroh.source(context) != nil { list.append(Iroh()) }   // IrohDeployer
        list.append(TLS())             // the TLS deployer of the config's mode
        list.append(Website())         // WebsiteDeployer
        list.append(Chatmaild())       // ChatmailVenvDeployer: the binary and its services
        // FiltermailDeployer: after Chatmaild, which installs the binary it runs
        list.append(Filtermail())
        list.append(Mtasts())          // MtastsDeployer
        if !context.config.isIPv4Relay { list.append(OpenDKIM()) }  // IPv4 relays sign nothing
        list.append(Dovecot())         // before Postfix: Dovecot creates the SASL auth socket
        list.append(Postfix())         // PostfixDeployer
        list.append(Fcgiwrap())        // FcgiwrapDeployer
        list.append(Nginx())           // NginxDeployer
        list.append(Mtail())           // MtailDeployer
        list.append(Version())         // GithashDeployer
        return list
    }

    /// Parts of the relay this deploy leaves out, and why; printed as warnings.
    public static func omissions(for context: DeployContext) -> [String] {
        if context.websiteOnly { return [] }
        return [
            PinnedProgram.turn.omission(context, what: "TURN (calls)"),
            PinnedProgram.iroh.omission(context, what: "the local iroh relay (realtime apps)"),
        ].compactMap { $0 }
    }
}
