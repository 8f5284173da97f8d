import Engine
/// The base system, as the Python relay sets it up: apt settings, tools,
/// the service accounts, /etc/mailname and the mailboxes folder.
///
/// The Python tool ran a full `apt upgrade` on every deploy, which made every
/// deploy slow and able to change unrelated packages. Here
/// unattended-upgrades installs security updates daily, independent of
/// deploys, and a deploy that changes nothing changes nothing.
struct Base: Component {
    let name = "base"

    func manifest(_ context: DeployContext) throws -> Manifest {
        let config = context.config
        let autoUpgrades = try Templates.text("base/20auto-upgrades")
        let rollForward = try Templates.text("base/cmdeploy-rollforward.service")
        return Manifest {
            File("/etc/apt/apt.conf.d/00InstallRecommends", text: "APT::Install-Recommends \"false\";\n")
            Package("curl")
            Package("rsync")
            Package("unattended-upgrades")
            File("/etc/apt/apt.conf.d/20auto-upgrades", text: autoUpgrades)
            // apt's own timers run the daily refresh and upgrade; enabled by
            // default on Debian, declared so a relay cannot silently lack them.
            Service("apt-daily.timer")
            Service("apt-daily-upgrade.timer")
            // vmail owns all mail and runs the chatmaild services; iroh runs
            // iroh-relay, chatmail-turn TURN (their units name the group
            // created with the user).
            SystemUser("vmail")
            SystemUser("iroh")
            SystemUser(Turn.user)
            // chatmaild's metadata service fails to start without it.
            Directory(config.mailboxesDir, owner: "vmail", mode: 0o700)
            File("/etc/mailname", text: config.mailDomain + "\n")
            // Finishes, at boot, the renames of a configuration change a
            // crash cut short (the next run would too, but daemons start first).
            File("/etc/systemd/system/cmdeploy-rollforward.service", text: rollForward)
            Service("cmdeploy-rollforward.service", running: false)
        }
    }
}
