import Engine
/// /etc/chatmail-version: what was deployed (the Python tool writes the git
/// commit and the uncommitted diff there). Rewritten only when the stamp changed.
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
