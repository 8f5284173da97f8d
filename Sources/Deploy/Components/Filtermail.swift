import Engine
/// The two `chatmaild filtermail` services Postfix hands mail to: outgoing
/// (ports 587/465) and incoming (port 25, and `/mxdeliv` from nginx). They run the binary the Chatmaild
/// component installs and read the chatmail.ini it installs. Unlike the
/// Python tool, a changed chatmail.ini restarts them too: they read limits
/// such as max_message_size and the send rate only when they start.
public struct Filtermail: Component {
    public let name = "filtermail"
    public init() {}

    /// Unit name and filtermail mode. The Python relay's third unit
    /// (`filtermail-transport`, outgoing MX delivery) has no counterpart:
    /// chatmaild has no transport mode, Postfix delivers itself.
    public static let units: [(unit: String, mode: String)] = [
        ("filtermail", "outgoing"),
        ("filtermail-incoming", "incoming"),
    ]
    public static let binary = "/usr/local/bin/chatmaild"

    public func manifest(_ context: DeployContext) throws -> Manifest {
        var resources: [Resource] = []
        for (unit, mode) in Self.units {
            let path = "/etc/systemd/system/\(unit).service"
            let text = try Templates.render("filtermail/filtermail.service.mustache",
                                            ["mode": mode, "sandbox": try Sandbox.filtermail(context.config).render()])
            resources.append(.file(File(path, text: text)))
            resources.append(.service(Service(unit, restartOn: [Self.binary, Chatmaild.iniPath, path])))
        }
        // A relay upgraded from the Python tool still has the transport unit
        // running the old binary; nothing sends to it any more.
        resources.append(.service(Service("filtermail-transport", enabled: false, running: false)))
        return Manifest(resources: resources)
    }

    public func listeners(_ context: DeployContext) -> [Listener] {
        [Listener(context.config.filtermailSMTPPort, process: "chatmaild", purpose: "filtermail (outgoing)"),
         Listener(context.config.filtermailSMTPPortIncoming, process: "chatmaild", purpose: "filtermail (incoming)"),
         Listener(context.config.filtermailHTTPPortIncoming, process: "chatmaild", purpose: "filtermail (incoming /mxdeliv)")]
    }
}
