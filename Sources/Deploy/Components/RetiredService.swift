import Engine
import Remote
/// Stops and disables a service that older relays ran and this one does not
/// (echobot, the MTA-STS resolver, the old dict proxy). It runs in the
/// install stage, before the unit file may be removed in configure: systemd
/// cannot disable a unit whose file is already gone. A host without the unit
/// (or without systemd) passes the check, so it costs nothing there.
func retiredService(_ unit: String) -> GuardedCommand {
    let u = shellQuote(unit)
    return GuardedCommand(
        "stop and disable \(unit)",
        "systemctl disable --now \(u)",
        unless: "[ \"$(systemctl is-enabled \(u) 2>/dev/null)\" != enabled ] && ! systemctl is-active --quiet \(u) 2>/dev/null",
        stage: .install)
}
