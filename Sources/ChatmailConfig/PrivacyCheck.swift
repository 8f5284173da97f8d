extension ChatmailConfig {
    /// The Python deploy refuses to run with privacy contacts copied from the
    /// upstream operators' own defaults (a privacy value naming merlinux,
    /// schmieder or testrun.org). Relays under
    /// testrun.org are exempt. Returns the error, or nil when the check passes.
    public func privacyContactsProblem() -> ConfigError? {
        if mailDomainBare == "testrun.org" || mailDomainBare.hasSuffix(".testrun.org") { return nil }
        let foreign = ["merlinux", "schmieder", "testrun.org"]
        for (key, value) in privacyValues {
            guard let value else { continue }
            if let word = foreign.first(where: { value.contains($0) }) {
                return ConfigError(
                    path: path, key: key,
                    message: "contains \(quoted(word)), an example from the upstream operators; "
                        + "please set your own privacy contacts/addresses in \(path)")
            }
        }
        return nil
    }

    /// True when every privacy contact is missing or empty; the web pages say so.
    public var privacyContactsEmpty: Bool {
        privacyValues.allSatisfy { ($0.value ?? "").isEmpty }
    }
}

extension ChatmailConfig {
    /// The two lines printed after a successful `cmdeploy run` when
    /// chatmail.ini has keys nothing reads (same text as the Python tool).
    public var unusedKeysSummary: [String] {
        guard !unusedKeys.isEmpty else { return [] }
        let names = unusedKeys.map(\.key).joined(separator: ", ")
        return ["WARNING: chatmail.ini contains settings that have no effect: \(names)",
                "Please remove them from chatmail.ini."]
    }
}
