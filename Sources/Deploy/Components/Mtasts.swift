import Engine
/// Removes the MTA-STS resolver (mta-sts-daemon) of older relays; Postfix
/// no longer asks it.
struct Mtasts: Component {
    let name = "mta-sts"

    func manifest(_ context: DeployContext) throws -> Manifest {
        Manifest {
            retiredService("mta-sts-daemon.service")
            Absent("/etc/mta-sts-daemon.yml")
            Absent("/usr/local/lib/postfix-mta-sts-resolver")
            Absent("/etc/systemd/system/mta-sts-daemon.service")
        }
    }
}
