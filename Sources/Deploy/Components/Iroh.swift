import ChatmailConfig
import Engine
import Remote

/// The local iroh relay (v0.35.0, plain HTTP on port 3340) behind nginx
/// `/relay`, which terminates TLS. It is always installed and started; it
/// starts at boot only when chatmail.ini has no `iroh_relay` key (an external
/// relay is used otherwise).
public struct Iroh: Component {
    public let name = "iroh"
    public init() {}

    static let binary = "/usr/local/bin/iroh-relay"
    static let unit = "/etc/systemd/system/iroh-relay.service"
    static let toml = "/etc/iroh-relay.toml"
    /// The release archive is kept: `iroh_relay_download` pins the archive's
    /// sha256 (what the release page lists), not the binary's.
    static let archive = "/usr/local/lib/chatmail/iroh-relay.tar.gz"

    public func manifest(_ context: DeployContext) throws -> Manifest {
        let config = context.config
        let download = try PinnedProgram.iroh.download(context)
        let unitText = try Templates.render("iroh/iroh-relay.service.mustache", ["sandbox": try Sandbox.network.render()])
        let tomlText = try Templates.text("iroh/iroh-relay.toml")
        return Manifest {
            // The host fetches the download with curl.
            Package("curl")
            // The iroh user comes from Base, which creates the relay's accounts.
            Download(download.url, mirrors: download.mirrors, sha256: download.sha256, to: Iroh.archive, mode: 0o644)
            GuardedCommand("extract iroh-relay", Iroh.extractCommand,
                           unless: "test -x \(Iroh.binary)", onChangeOf: [Iroh.archive], stage: .install)
            File(Iroh.unit, text: unitText)
            File(Iroh.toml, text: tomlText)
            // As the Python relay: running either way, enabled only when local.
            Service("iroh-relay", enabled: config.enableIrohRelay, running: true,
                    restartOn: [Iroh.archive, Iroh.unit, Iroh.toml])
        }
    }

    /// The archive holds ./iroh-relay (older ones: iroh-relay); replaced
    /// atomically so a running relay keeps its old binary until restarted.
    static let extractCommand = "tar -xzOf \(archive) --wildcards '*iroh-relay' >\(binary).cmdeploy-new"
        + " && chmod 755 \(binary).cmdeploy-new && mv -f \(binary).cmdeploy-new \(binary)"

    public func listeners(_ context: DeployContext) -> [Listener] {
        [Listener(3340, process: "iroh-relay", purpose: "iroh relay")]
    }
}
