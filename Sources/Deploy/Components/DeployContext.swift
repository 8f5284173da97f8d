import ChatmailConfig

/// Everything a component may base its resources on. All of it is known
/// before the host is probed (the release takes one read of os-release), so
/// a manifest is a pure function of it.
public struct DeployContext: Sendable {
    public var config: ChatmailConfig
    /// `--disable-mail`: deploy everything, but keep Postfix and Dovecot
    /// stopped and disabled (the old host during a migration).
    public var disableMail: Bool
    /// `--website-only`: deploy the web pages and nothing else.
    public var websiteOnly: Bool = false
    /// The chatmaild binary to install (a static Linux build).
    public var chatmaild: LocalFile?
    /// libub-config-lock.so from beside chatmaild: OpenDKIM needs it with
    /// dns_forwarders (see OpenDKIM.configLockPath).
    public var unboundConfigLock: LocalFile?
    /// The built web pages to publish, as relative path → content; nil when
    /// pages are disabled (`www_folder` is not a folder).
    public var website: [String: [UInt8]]?
    /// Recorded in /etc/chatmail-version: what was deployed.
    public var version: String
    /// The host's Debian release ("12", "13"), read from its /etc/os-release
    /// before the manifests are made (`HostSystem`); "12" until then.
    public var debianRelease: String = "12"

    public init(config: ChatmailConfig, disableMail: Bool = false, chatmaild: LocalFile? = nil,
                website: [String: [UInt8]]? = nil, version: String = "unknown") {
        self.config = config
        self.disableMail = disableMail
        self.chatmaild = chatmaild
        self.website = website
        self.version = version
    }
}

extension DeployContext {
    /// The relay's architecture as `uname -m` names it: the one chatmaild was
    /// built for (the deploy refuses a chatmaild that does not match the
    /// host), x86_64 when no binary is given.
    public var architecture: String {
        chatmaild.flatMap { Deployment.elfArchitecture($0.content) } ?? "x86_64"
    }
}

/// A file on the deploying machine, read once.
public struct LocalFile: Sendable {
    public var path: String
    public var content: [UInt8]
    public init(path: String, content: [UInt8]) {
        self.path = path
        self.content = content
    }
}
