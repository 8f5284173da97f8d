/// The components of a chatmail relay, in deploy order (reference §3.2):
/// every stage runs through them front to back, and services restart in this
/// order, so Dovecot (which creates the auth socket) comes before Postfix.
public enum Relay {
    public static func components(for context: DeployContext) -> [any Component] {
        var list: [any Component] = []
        // Components are added here as they are built.
        _ = context
        list.append(Turn())
        list.append(Iroh())
        list.append(TLS())
        list.append(Website())
        list.append(Fcgiwrap())
        list.append(Nginx())
        return list
    }
}
