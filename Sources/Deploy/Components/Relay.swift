/// The components of a chatmail relay, in deploy order (reference §3.2):
/// every stage runs through them front to back, and services restart in this
/// order, so Dovecot (which creates the auth socket) comes before Postfix.
public enum Relay {
    public static func components(for context: DeployContext) -> [any Component] {
        var list: [any Component] = []
        // Components are added here as they are built.
        list.append(Filtermail())  // after Chatmaild, which installs the binary it runs
        if !context.config.isIPv4Relay { list.append(OpenDKIM()) }  // IPv4 relays sign nothing
        list.append(Dovecot())  // before Postfix: Dovecot creates the SASL auth socket
        list.append(Postfix())
        return list
    }
}
