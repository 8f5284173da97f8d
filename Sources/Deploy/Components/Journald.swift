import Engine
/// Logs in RAM only, kept three days, as on the Python relay:
/// a relay keeps no record of who talked to whom on disk.
struct Journald: Component {
    let name = "journald"
    static let confPath = "/etc/systemd/journald.conf"

    func manifest(_ context: DeployContext) throws -> Manifest {
        let conf = try Templates.text("journald/journald.conf")
        return Manifest {
            File(Self.confPath, text: conf)
            Service("systemd-journald", restartOn: [Self.confPath])
        }
    }
}
