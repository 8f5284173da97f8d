/// The chatmail.ini that `cmdeploy init DOMAIN` writes: every key present,
/// mail_domain and the privacy contacts active, everything else commented out
/// with its default and a one-line explanation.
public enum InitialConfig {
    public static func render(domain: String) -> String {
        var out: [String] = [
            "# chatmail relay configuration, read by cmdeploy and by the relay's services.",
            "# Lines starting with # are comments. A commented-out setting shows its",
            "# default; remove the \"# \" in front of it to change the value.",
            "# Comments must be on their own line: text after a value is part of the value.",
            "",
            "[params]",
            "",
        ]
        for key in ConfigKeys.all {
            if let group = key.group {
                out += ["## \(group)", ""]
            }
            out += key.help.map { "# " + $0 }
            let value: String
            if key.name == "mail_domain" {
                value = domain
            } else if key.activeInInit {
                value = key.defaultText ?? ""
            } else if let d = key.defaultText {
                value = d
            } else {
                // Keys whose absence means something are shown with an example.
                switch key.name {
                case "iroh_relay": value = "https://\(domain)"
                case "mailboxes_dir": value = "/home/vmail/mail/\(domain)"
                case "mtail_address": value = "127.0.0.1"
                default: value = ""
                }
            }
            let line = value.isEmpty ? "\(key.name) =" : "\(key.name) = \(value)"
            out.append(key.activeInInit ? line : "# " + line)
            out.append("")
        }
        while out.last == "" { out.removeLast() }
        return out.joined(separator: "\n") + "\n"
    }

    /// Checks a DOMAIN argument of `cmdeploy init`; nil when it is usable.
    public static func domainProblem(_ domain: String) -> String? {
        if parseIPv4(domain) != nil { return nil }
        return mailDomainProblem(domain)
    }
}
