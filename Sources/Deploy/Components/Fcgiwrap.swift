import Engine
/// fcgiwrap runs the `/new` CGI program for nginx, which only proposes a
/// random address and password (the first login creates the account). The
/// program is `chatmaild newemail`, reached through a small wrapper at the path
/// the Python relay used, so nginx configs and printed QR codes keep working.
public struct Fcgiwrap: Component {
    public let name = "fcgiwrap"
    public init() {}

    static let scriptPath = "/usr/lib/cgi-bin/newemail.py"

    public func manifest(_ context: DeployContext) throws -> Manifest {
        let wrapper = try Templates.text("fcgiwrap/newemail.py")
        return Manifest {
            Package("fcgiwrap")
            Directory("/usr/lib/cgi-bin")
            File(Fcgiwrap.scriptPath, text: wrapper, mode: 0o755)
            // Debian's fcgiwrap is socket-activated: the socket is what nginx
            // talks to and what is enabled (the service shows "indirect").
            // Each request starts the program anew: nothing to restart.
            Service("fcgiwrap.socket")
        }
    }
}
