import ChatmailConfig

/// The downloads a relay gets outside apt, as upstream chatmail relay 1.12.0
/// pins them: URL and sha256 per architecture. Data only; components pick
/// from it and chatmail.ini keys override it. `UpstreamPinsTests` compares
/// every entry with the recorded upstream table.
public enum UpstreamPins {
    /// chatmail-turn v0.4, a raw binary, by `uname -m`.
    public static let turn: [String: PinnedDownload] = [
        "x86_64": PinnedDownload(
            url: "https://github.com/chatmail/chatmail-turn/releases/download/v0.4/chatmail-turn-x86_64-linux",
            sha256: "1ec1f5c50122165e858a5a91bcba9037a28aa8cb8b64b8db570aa457c6141a8a"),
        "aarch64": PinnedDownload(
            url: "https://github.com/chatmail/chatmail-turn/releases/download/v0.4/chatmail-turn-aarch64-linux",
            sha256: "0fb3e792419494e21ecad536464929dba706bb2c88884ed8f1788141d26fc756"),
    ]

    /// iroh-relay v0.35.0: the sha256 is the release archive's.
    public static let iroh: [String: PinnedDownload] = [
        "x86_64": PinnedDownload(
            url: "https://github.com/n0-computer/iroh/releases/download/v0.35.0/iroh-relay-v0.35.0-x86_64-unknown-linux-musl.tar.gz",
            sha256: "45c81199dbd70f8c4c30fef7f3b9727ca6e3cea8f2831333eeaf8aa71bf0fac1"),
        "aarch64": PinnedDownload(
            url: "https://github.com/n0-computer/iroh/releases/download/v0.35.0/iroh-relay-v0.35.0-aarch64-unknown-linux-musl.tar.gz",
            sha256: "f8ef27631fac213b3ef668d02acd5b3e215292746a3fc71d90c63115446008b1"),
    ]

    /// mtail 3.0.8: the sha256 is the extracted binary's, which the engine checks.
    public static let mtail: [String: PinnedDownload] = [
        "x86_64": PinnedDownload(
            url: "https://github.com/google/mtail/releases/download/v3.0.8/mtail_3.0.8_linux_amd64.tar.gz",
            sha256: "d55cb601049c5e61eabab29998dbbcea95d480e5448544f9470337ba2eea882e"),
        "aarch64": PinnedDownload(
            url: "https://github.com/google/mtail/releases/download/v3.0.8/mtail_3.0.8_linux_arm64.tar.gz",
            sha256: "f748db8ad2a1e0b63684d4c8868cf6a373a20f7e6922e5ece601fff0ee00eb1a"),
    ]

    /// Dovecot without the 500 ms IDLE notification delay: one build per
    /// Debian release and architecture, three packages each.
    public struct DovecotBuild: Sendable, Equatable {
        /// `VERSION_ID` of the Debian release it was built for.
        public var debianRelease: String
        /// Debian's architecture name (`dpkg --print-architecture`).
        public var architecture: String
        /// The packages' version, as dpkg reports it.
        public var version: String
        /// dovecot-core, dovecot-imapd, dovecot-lmtpd.
        public var debs: [PinnedDownload]
    }

    /// Debian 12: 2.3.21+dfsg1-3, the builds chatmail relay 1.12.0 installs.
    /// Debian 13: 2.3.21+dfsg1-3+chatmail2+deb13u1, the same Dovecot 2.3
    /// rebuilt for Debian 13 with CVE fixes backported (relay PR #1002;
    /// Debian 13 itself ships Dovecot 2.4, which has no dict passdb).
    /// download.delta.chat first, the GitHub release of chatmail/dovecot as
    /// the fallback.
    public static let dovecot: [DovecotBuild] = [
        dovecot12("amd64", core: "dd060706f52a306fa863d874717210b9fe10536c824afe1790eec247ded5b27d",
                  imapd: "8d8dc6fc00bbb6cdb25d345844f41ce2f1c53f764b79a838eb2a03103eebfa86",
                  lmtpd: "2f69ba5e35363de50962d42cccbfe4ed8495265044e244007d7ccddad77513ab"),
        dovecot12("arm64", core: "e7548e8a82929722e973629ecc40fcfa886894cef3db88f23535149e7f730dc9",
                  imapd: "178fa877ddd5df9930e8308b518f4b07df10e759050725f8217a0c1fb3fd707f",
                  lmtpd: "89f52fb36524f5877a177dff4a713ba771fd3f91f22ed0af7238d495e143b38f"),
        dovecot13("amd64", core: "47c242ef23c17e700ac19d52d82c9fdb2ebd757d8beb3a7f6781d2de59f87bd0",
                  imapd: "e38cc1266455f937ed62f971ea859c47e1a99247841ed0ad946963b524cfdbc5",
                  lmtpd: "833b243e28c7baff141ecf37456e310f5d836e7944a3b9f2fe5074adf0d6a418"),
        dovecot13("arm64", core: "c14c53f112c875f698c4cb6e5870c605cd0a9dd98d35a66e94ceb1827f8020a3",
                  imapd: "11d97dabf23171b37f8b1335dfdb81d408f8b95391aea6d4066aecc9fde01dfe",
                  lmtpd: "55af47a121ba7e23966b20ddaab2dff7feba4b34677864e045e31a702afa180d"),
    ]

    private static func dovecot12(_ arch: String, core: String, imapd: String, lmtpd: String) -> DovecotBuild {
        let file = { (pkg: String) in "dovecot-\(pkg)_2.3.21%2Bdfsg1-3_\(arch).deb" }
        let deb = { (pkg: String, sha256: String) in
            PinnedDownload(url: "https://download.delta.chat/dovecot/" + file(pkg), sha256: sha256, mirrors: [
                "https://github.com/chatmail/dovecot/releases/download/upstream%2F2.3.21%2Bdfsg1-3/" + file(pkg),
            ])
        }
        return DovecotBuild(debianRelease: "12", architecture: arch, version: "1:2.3.21+dfsg1-3",
                            debs: [deb("core", core), deb("imapd", imapd), deb("lmtpd", lmtpd)])
    }

    private static func dovecot13(_ arch: String, core: String, imapd: String, lmtpd: String) -> DovecotBuild {
        // download.delta.chat serves the name with a literal "+", GitHub with %2B
        let version = "2.3.21+dfsg1-3+chatmail2+deb13u1"
        let file = { (pkg: String) in "dovecot-\(pkg)_\(version)_\(arch).deb" }
        let deb = { (pkg: String, sha256: String) in
            PinnedDownload(url: "https://download.delta.chat/dovecot/" + file(pkg), sha256: sha256, mirrors: [
                "https://github.com/chatmail/dovecot/releases/download/upstream%2F2.3.21%2Bdfsg1-3%2Bchatmail2/"
                    + file(pkg).split(separator: "+", omittingEmptySubsequences: false).joined(separator: "%2B"),
            ])
        }
        return DovecotBuild(debianRelease: "13", architecture: arch, version: "1:" + version,
                            debs: [deb("core", core), deb("imapd", imapd), deb("lmtpd", lmtpd)])
    }

    /// Debian's name for a `uname -m` architecture.
    public static func debianArchitecture(_ machine: String) -> String {
        switch machine {
        case "x86_64": return "amd64"
        case "aarch64": return "arm64"
        case "armv7l": return "armhf"
        default: return machine
        }
    }
}
