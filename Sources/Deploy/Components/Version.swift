import Engine
/// /etc/chatmail-version: what was deployed (reference §3.3
/// GithashDeployer). Rewritten only when the stamp changed.
struct Version: Component {
    let name = "version"
    static let path = "/etc/chatmail-version"

    func manifest(_ context: DeployContext) throws -> Manifest {
        let stamp = context.version.hasSuffix("\n") ? context.version : context.version + "\n"
        return Manifest {
            File(Self.path, text: stamp)
        }
    }
}
