import Testing
@testable import ChatmailConfig

private func parse(_ lines: String...) throws -> ChatmailConfig {
    try ChatmailConfig.parse((["[params]"] + lines).joined(separator: "\n") + "\n", path: "chatmail.ini")
}

@Suite struct DefaultsTests {
    @Test func everyDefaultMatchesThePythonRelay() throws {
        let c = try parse("mail_domain = chat.example.org")
        #expect(c.mailDomain == "chat.example.org")
        #expect(c.mailDomainBare == "chat.example.org")
        #expect(c.ipv4Relay == nil)
        #expect(c.postfixMyhostname == "chat.example.org")
        #expect(c.maxUserSendPerMinute == 60)
        #expect(c.maxUserSendBurstSize == 10)
        #expect(c.maxMailboxSize == "500M")
        #expect(c.maxMailboxSizeMB == 500)
        #expect(c.maxMessageSize == 31_457_280)
        #expect(c.deleteMailsAfter == 20)
        #expect(c.deleteLargeAfter == 7)
        #expect(c.deleteInactiveUsersAfter == 90)
        #expect(c.usernameMinLength == 9)
        #expect(c.usernameMaxLength == 9)
        #expect(c.passwordMinLength == 9)
        #expect(c.maxLoad1m == 5)
        #expect(c.minAvailableMemoryMB == 200)
        #expect(c.minFreeDiskSpaceMB == 1024)
        #expect(c.maxImapConnections == 10000)
        #expect(c.maxSmtpConnections == 1000)
        #expect(c.tlsExternalCertAndKey == "")
        #expect(c.wwwFolder == "")
        #expect(c.disableIPv6 == false)
        #expect(c.acmeEmail == "")
        #expect(c.acmeDirectoryURL == "https://acme-v02.api.letsencrypt.org/directory")
        #expect(c.notificationURL == "https://notifications.delta.chat/notify")
        #expect(c.mtailAddress == nil)
        #expect(c.imapRawlog == false)
        #expect(c.imapCompress == false)
        #expect(c.privacyPostal == nil && c.privacyMail == nil && c.privacyPDO == nil && c.privacySupervisor == nil)
        #expect(c.filtermailSMTPPort == 10080)
        #expect(c.filtermailSMTPPortIncoming == 10081)
        #expect(c.filtermailHTTPPortIncoming == 10082)
        #expect(c.filtermailLMTPPortTransport == 10083)
        #expect(c.postfixReinjectPort == 10025)
        #expect(c.postfixReinjectPortIncoming == 10026)
        #expect(c.turnSocketPath == "/run/chatmail-turn/turn.socket")
        #expect(c.mailboxesDir == "/home/vmail/mail/chat.example.org")
        #expect(c.passdbPath == "/home/vmail/passdb.sqlite")
        #expect(c.unusedKeys.isEmpty)
        #expect(c.warnings.isEmpty)
    }

    @Test func acmeModeForOrdinaryDomains() throws {
        let c = try parse("mail_domain = chat.example.org")
        #expect(c.tlsMode == .acme)
        #expect(c.strictTLS)
        #expect(c.tlsCertPath == "/var/lib/acme/live/chat.example.org/fullchain")
        #expect(c.tlsKeyPath == "/var/lib/acme/live/chat.example.org/privkey")
    }

    @Test func ipv4Relay() throws {
        let c = try parse("mail_domain = 1.2.3.4")
        #expect(c.ipv4Relay == "1.2.3.4")
        #expect(c.isIPv4Relay)
        #expect(c.mailDomain == "[1.2.3.4]")
        #expect(c.mailDomainBare == "1.2.3.4")
        #expect(c.postfixMyhostname == "4.3.2.1.in-addr.arpa")
        #expect(c.tlsMode == .selfSigned)
        #expect(!c.strictTLS)
        #expect(c.tlsCertPath == "/etc/ssl/certs/mailserver.pem")
        #expect(c.tlsKeyPath == "/etc/ssl/private/mailserver.key")
        #expect(c.mailboxesDir == "/home/vmail/mail/1.2.3.4")
        #expect(c.irohRelay == "https://1.2.3.4")
    }

    @Test func underscoreDomainIsSelfSigned() throws {
        let c = try parse("mail_domain = _chat.example.org")
        #expect(c.tlsMode == .selfSigned)
        #expect(c.ipv4Relay == nil)
        #expect(c.mailDomain == "_chat.example.org")
        #expect(c.tlsCertPath == "/etc/ssl/certs/mailserver.pem")
    }

    @Test func externalCertificatesWinEvenOverUnderscore() throws {
        let c = try parse("mail_domain = _chat.example.org",
                          "tls_external_cert_and_key =   /etc/ssl/relay.pem    /etc/ssl/relay.key  ")
        #expect(c.tlsMode == .external)
        #expect(c.tlsCertPath == "/etc/ssl/relay.pem")
        #expect(c.tlsKeyPath == "/etc/ssl/relay.key")
    }

    @Test func irohRelayAbsentEmptyOrSet() throws {
        let absent = try parse("mail_domain = chat.example.org")
        #expect(absent.irohRelay == "https://chat.example.org")
        #expect(absent.enableIrohRelay)

        let empty = try parse("mail_domain = chat.example.org", "iroh_relay =")
        #expect(empty.irohRelay == "")
        #expect(!empty.enableIrohRelay)

        let set = try parse("mail_domain = chat.example.org", "iroh_relay = https://iroh.example.net  ")
        #expect(set.irohRelay == "https://iroh.example.net")
        #expect(!set.enableIrohRelay)
    }

    @Test(arguments: [
        ("500M", 500), ("2G", 2048), (" 1g ", 1024), ("100MB", 100), ("256", 256),
        ("1gb", 1024), ("0", 0), ("1_000M", 1000), ("+5M", 5),
    ])
    func sizeParsing(_ text: String, _ mb: Int) {
        #expect(parseSizeMB(text) == mb)
    }

    @Test(arguments: ["1.5G", "500K", "", "M", "G", "-1G", "1T", "5 GB x", "1__0M", "BB"])
    func sizeParsingRejects(_ text: String) {
        #expect(parseSizeMB(text) == nil)
    }

    @Test func sizesAreRecordedAsWrittenAndInMB() throws {
        let c = try parse("mail_domain = chat.example.org", "max_mailbox_size = 2G",
                          "min_available_memory = 512MB", "min_free_disk_space = 300")
        #expect(c.maxMailboxSize == "2G")
        #expect(c.maxMailboxSizeMB == 2048)
        #expect(c.minAvailableMemoryMB == 512)
        #expect(c.minFreeDiskSpaceMB == 300)
    }

    @Test func booleansAreTrueOnlyForTrue() throws {
        let c = try parse("mail_domain = chat.example.org", "disable_ipv6 = TRUE",
                          "imap_rawlog = True", "imap_compress = false")
        #expect(c.disableIPv6 && c.imapRawlog && !c.imapCompress)
        #expect(c.warnings.isEmpty)
    }

    @Test func numbersAcceptWhatPythonAccepts() throws {
        let c = try parse("mail_domain = chat.example.org", "max_message_size = 1_000_000",
                          "max_load_1m = 2.5", "max_user_send_per_minute = +30")
        #expect(c.maxMessageSize == 1_000_000)
        #expect(c.maxLoad1m == 2.5)
        #expect(c.maxUserSendPerMinute == 30)
    }

    @Test func colonSyntaxCRLFAndCommentsAreAccepted() throws {
        let text = "; a comment\r\n[params]\r\n  # indented comment\r\nmail_domain: chat.example.org\r\n"
            + "privacy_postal = Example Ltd\r\n   Main Street 1\r\n   Berlin\r\n"
        let c = try ChatmailConfig.parse(text, path: "chatmail.ini")
        #expect(c.mailDomain == "chat.example.org")
        #expect(c.privacyPostal == "Example Ltd\nMain Street 1\nBerlin")
    }

    @Test func mtailAndPrivacyValuesAreKept() throws {
        let c = try parse("mail_domain = chat.example.org", "mtail_address = 127.0.0.1",
                          "privacy_mail = privacy@example.org", "privacy_pdo =")
        #expect(c.mtailAddress == "127.0.0.1")
        #expect(c.privacyMail == "privacy@example.org")
        #expect(c.privacyPDO == "")
        #expect(c.privacyPostal == nil)
        #expect(!c.privacyContactsEmpty)
    }

    @Test func unknownKeysAreCollectedInOrder() throws {
        let c = try parse("mail_domain = chat.example.org", "passthrough_senders = x", "zzz = 1")
        #expect(c.unusedKeys.map(\.key) == ["passthrough_senders", "zzz"])
        #expect(c.unusedKeys.map(\.line) == [3, 4])
        #expect(c.unusedKeysSummary == [
            "WARNING: chatmail.ini contains settings that have no effect: passthrough_senders, zzz",
            "Please remove them from chatmail.ini.",
        ])
    }

    @Test func loadNamesTheMissingFile() {
        #expect {
            try ChatmailConfig.load(path: "/nonexistent/chatmail.ini")
        } throws: { error in
            "\(error)" == "/nonexistent/chatmail.ini: file not found"
        }
    }
}

@Suite struct PrivacyCheckTests {
    @Test(arguments: ["privacy_mail = privacy@merlinux.eu", "privacy_postal = Schmieder GmbH, schmieder",
                      "privacy_supervisor = admin@testrun.org"])
    func upstreamValuesAreRefused(_ line: String) throws {
        let c = try parse("mail_domain = chat.example.org", line)
        let problem = try #require(c.privacyContactsProblem())
        #expect(problem.description.hasSuffix("please set your own privacy contacts/addresses in chatmail.ini"))
        #expect(problem.key == String(line.split(separator: " ")[0]))
    }

    @Test(arguments: ["testrun.org", "nine.testrun.org"])
    func testrunRelaysAreExempt(_ domain: String) throws {
        let c = try parse("mail_domain = \(domain)", "privacy_mail = privacy@merlinux.eu")
        #expect(c.privacyContactsProblem() == nil)
    }

    @Test func ownContactsPass() throws {
        let c = try parse("mail_domain = chat.example.org", "privacy_mail = me@example.org")
        #expect(c.privacyContactsProblem() == nil)
    }
}

@Suite struct ResolverAndDownloadKeysTests {
    @Test func emptyByDefault() throws {
        let c = try parse("mail_domain = chat.example.org")
        #expect(c.dnsForwarders.isEmpty && c.dnsUnsignedZones.isEmpty)
        #expect(c.irohRelayDownload == nil && c.turnDownload == nil && c.mtailDownload == nil)
    }

    @Test func labStyleValues() throws {
        let sha = String(repeating: "AB", count: 32)
        let c = try parse("mail_domain = relay1.test", "dns_forwarders = 10.77.0.1 fd00::1",
                          "dns_unsigned_zones = test 10.in-addr.arpa.",
                          "iroh_relay_download = https://files.test/iroh.tar.gz \(sha)")
        #expect(c.dnsForwarders == ["10.77.0.1", "fd00::1"])
        #expect(c.dnsUnsignedZones == ["test", "10.in-addr.arpa."])
        #expect(c.irohRelayDownload == PinnedDownload(url: "https://files.test/iroh.tar.gz", sha256: sha.lowercased()))
    }

    @Test func badValuesNameLineAndKey() throws {
        #expect { try parse("mail_domain = chat.example.org", "dns_forwarders = ns1.example.org") } throws: {
            "\($0)" == "chatmail.ini:3: dns_forwarders: expected IP addresses, got \"ns1.example.org\""
        }
        #expect { try parse("mail_domain = chat.example.org", "turn_download = https://x.test/turn") } throws: {
            "\($0)".hasPrefix("chatmail.ini:3: turn_download: expected \"URL SHA256\"")
        }
    }
}

@Suite struct QuotedValueTests {
    /// A written value stays on its line: CR LF (one Character) and a quote
    /// with a combining mark are escaped scalar by scalar.
    @Test func quotingWorksScalarByScalar() {
        #expect(quoted("a\r\nb") == "\"a\r\\nb\"")
        #expect(quoted("x\"\u{301}") == "\"x\\\"\u{301}\"")
        #expect(quoted("tab\tback\\slash") == "\"tab\\tback\\\\slash\"")
    }
}
