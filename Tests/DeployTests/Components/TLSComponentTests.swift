import ChatmailConfig
import Foundation
import Testing
import TestSupport
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support

@Suite struct TLSComponentTests {
    @Test func acmeUsesTheConfiguredDirectoryAndAllThreeNames() throws {
        let config = try testConfig("mail_domain = chat.example.org", "acme_email = ops@example.org",
                                    "acme_directory_url = https://acme.test:14000/dir")
        let r = try Rendered(TLS(), config)
        #expect(r.packages.contains("acmetool"))
        let target = try #require(r.text("/var/lib/acme/conf/target"))
        #expect(target.contains("  provider: https://acme.test:14000/dir\n"))
        #expect(!target.contains("letsencrypt"))
        #expect(target.contains("      - /var/www/html/.well-known/acme-challenge\n"))
        #expect(target.contains("ecdsa-curve: nistp256"))
        #expect(r.text("/var/lib/acme/conf/responses") == """
            "acme-enter-email": "ops@example.org"
            "acme-agreement:https://letsencrypt.org/documents/LE-SA-v1.8-July-06-2026.pdf": true

            """)
        #expect(r.text("/var/lib/acme/desired/chat.example.org") == """
            satisfy:
              names:
                - chat.example.org
                - mta-sts.chat.example.org
                - www.chat.example.org

            """)
        let hook = try #require(r.file("/etc/acme/hooks/nginx"))
        #expect(hook.mode == 0o755)
        #expect(String(decoding: hook.content, as: UTF8.self).contains("[ \"$1\" = \"live-updated\" ] || exit 42"))
        #expect(r.absent.contains("/etc/cron.d/acmetool"))
        #expect(r.absent.contains("/usr/lib/acme/hooks/nginx"))
        #expect(r.text("/etc/systemd/system/acmetool-redirector.service")?
            .contains("ExecStart=/usr/bin/acmetool redirector --bind=127.0.0.1:402\nRestart") == true)
        #expect(r.service("acmetool-reconcile")?.enabled == false)
        #expect(r.service("acmetool-reconcile")?.running == false)
        #expect(r.service("acmetool-reconcile.timer")?.enabled == true)
        #expect(r.service("acmetool-redirector")?.running == true)
    }

    /// The reconcile command with a stand-in acmetool that logs what
    /// acmetool's storageops logs: the order's states reach fd 3 as progress
    /// markers, acmetool's whole output stays the command's output (the
    /// step's report on failure), and its exit status is the command's.
    @Test func acmeReconcileReportsTheOrdersStateAndKeepsAcmetoolsStatus() throws {
        let dir = try scratchDir("acme")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Rendered(TLS(), try testConfig("mail_domain = chat.example.org", "acme_directory_url = http://127.0.0.1:9/dir"))
        let command = try #require(r.command("acmetool reconcile")).command
            .replacingOccurrences(of: "/var/lib/acme/conf/responses", with: "\(dir)/responses")
        try "\"acme-enter-email\": \"\"\n".write(toFile: "\(dir)/responses", atomically: true, encoding: .utf8)
        func run(exit status: Int) throws -> (status: Int32, output: String, progress: [String]) {
            try """
                #!/bin/sh
                echo "20261207 [DEBUG] acme.storageops: desired/chat.example.org: best certificate satisfying is <nil>" >&2
                echo "20261207 [DEBUG] acme.storageops: desired/chat.example.org: requesting certificate" >&2
                echo "20261207 [DEBUG] acme.storageops: desired/chat.example.org: ordering certificate" >&2
                echo "20261207 [DEBUG] acme.storageops: downloading certificate 4f1a" >&2
                [ \(status) = 0 ] && echo "20261207 [DEBUG] acme.storageops: done processing targets, reconciliation complete, 0 errors occurred" >&2
                echo "acmetool says goodbye"
                exit \(status)
                """.write(toFile: "\(dir)/acmetool", atomically: true, encoding: .utf8)
            _ = try shell("chmod 755 \(dir)/acmetool")
            let result = try shell("PATH=\(dir):$PATH; export PATH; ( \(command) ) 3>\(dir)/fd3 >\(dir)/out 2>&1")
            let fd3 = try String(contentsOfFile: "\(dir)/fd3", encoding: .utf8)
            return (result.status, try String(contentsOfFile: "\(dir)/out", encoding: .utf8),
                    fd3.split(separator: "\n").map(String.init))
        }
        let ok = try run(exit: 0)
        #expect(ok.status == 0)
        #expect(ok.progress == [
            "@@progress\tcertificate\t\trequesting a certificate",
            "@@progress\tcertificate\t\torder placed; waiting for the CA to validate the relay's names",
            "@@progress\tcertificate\t\torder valid; downloading the certificate",
            "@@progress\tcertificate\t\tcertificate installed",
        ])
        #expect(ok.output.contains("requesting certificate") && ok.output.contains("acmetool says goodbye"))
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/responses.rc"))

        let failed = try run(exit: 3)
        #expect(failed.status == 3)
        #expect(failed.progress.count == 3)
        #expect(failed.output.contains("acmetool says goodbye"))

        // Without fd 3 (run by hand) it still works and says nothing extra.
        let alone = try shell("PATH=\(dir):$PATH; export PATH; ( \(command) ) >/dev/null 2>&1")
        #expect(alone.status == 3)
    }

    @Test func acmeReconcileRunsOnlyForAMissingOrExpiringCertificate() throws {
        let r = try Rendered(TLS(), try testConfig("mail_domain = chat.example.org"))
        let reconcile = try #require(r.command("acmetool reconcile"))
        #expect(reconcile.command.contains("acmetool --batch --xlog.severity=debug --response-file=\"$r\" reconcile"))
        #expect(reconcile.command.contains("curl -fsS --max-time 30 https://acme-v02.api.letsencrypt.org/directory"))
        // Before nginx starts: it needs the certificate.
        #expect(reconcile.stage == .configure)
        #expect(reconcile.onChangeOf.contains("/var/lib/acme/desired/chat.example.org"))
        let unless = try #require(reconcile.unless)
        #expect(unless.contains("/var/lib/acme/live/chat.example.org/fullchain"))

        // The guard itself, on real certificates: a fresh one passes, one that
        // expires tomorrow and a missing one fail.
        let dir = try scratchDir("web")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func guardPasses(days: Int) throws -> Bool {
            try shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc -days \(days) -subj /CN=t "
                + "-keyout \(dir)/key -out \(dir)/fullchain >/dev/null 2>&1")
            return try shell(unless.replacingOccurrences(of: "/var/lib/acme/live/chat.example.org/fullchain",
                                                      with: "\(dir)/fullchain")).status == 0
        }
        #expect(try guardPasses(days: 90))
        #expect(try !guardPasses(days: 1))
        try FileManager.default.removeItem(atPath: "\(dir)/fullchain")
        #expect(try shell(unless.replacingOccurrences(of: "/var/lib/acme/live/chat.example.org/fullchain",
                                                   with: "\(dir)/fullchain")).status != 0)
    }

    @Test func underscoreDomainGetsTheReferenceSelfSignedCertificate() throws {
        let r = try Rendered(TLS(), try testConfig("mail_domain = _chat.example.org"))
        #expect(!r.packages.contains("acmetool"))
        let cmd = try #require(r.command("self-signed certificate"))
        #expect(cmd.unless == "test -f /etc/ssl/certs/mailserver.pem")
        #expect(cmd.command == "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc -days 36500 "
            + "-keyout /etc/ssl/private/mailserver.key -out /etc/ssl/certs/mailserver.pem -subj /CN=_chat.example.org "
            + "-addext basicConstraints=critical,CA:FALSE -addext extendedKeyUsage=serverAuth,clientAuth "
            + "-addext subjectAltName=DNS:_chat.example.org,DNS:www._chat.example.org,DNS:mta-sts._chat.example.org")

        // The command really makes such a certificate (paths moved to a temp dir).
        let dir = try scratchDir("web")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let local = cmd.command.replacingOccurrences(of: "/etc/ssl/private/mailserver.key", with: "\(dir)/k")
            .replacingOccurrences(of: "/etc/ssl/certs/mailserver.pem", with: "\(dir)/c")
        #expect(try shell(local).status == 0)
        let text = try shell("openssl x509 -noout -text -in \(dir)/c").output
        #expect(text.contains("Subject: CN = _chat.example.org"))
        #expect(text.contains("DNS:_chat.example.org, DNS:www._chat.example.org, DNS:mta-sts._chat.example.org"))
    }

    @Test func ipv4RelayIsSelfSignedWithTheAddressAsIPEntry() throws {
        let dir = try scratchDir("web")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Rendered(TLS(), try testConfig("mail_domain = 10.1.2.3"))
        let cmd = try #require(r.command("self-signed certificate")).command
        #expect(cmd.contains("-subj /CN=10.1.2.3 "))
        #expect(cmd.hasSuffix("subjectAltName=IP:10.1.2.3"))
        // The real openssl makes it, and it names the address as an IP entry.
        let local = cmd.replacingOccurrences(of: "/etc/ssl/private/mailserver.key", with: "\(dir)/k")
            .replacingOccurrences(of: "/etc/ssl/certs/mailserver.pem", with: "\(dir)/c")
        #expect(try shell(local).status == 0)
        let text = try shell("openssl x509 -noout -text -in \(dir)/c").output
        #expect(text.contains("IP Address:10.1.2.3") && !text.contains("DNS:"))
    }

    @Test func externalCertificatesAreWatchedAndMissingFilesAreNamed() throws {
        let dir = try scratchDir("web")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try testConfig("mail_domain = chat.example.org",
                                    "tls_external_cert_and_key = \(dir)/cert.pem \(dir)/key.pem")
        let r = try Rendered(TLS(), config)
        #expect(!r.packages.contains("acmetool"))
        #expect(r.commands.allSatisfy { !$0.name.contains("acmetool") && !$0.name.contains("self-signed") })
        #expect(r.text("/etc/systemd/system/tls-cert-reload.path")?.contains("PathChanged=\(dir)/cert.pem\n") == true)
        #expect(r.text("/etc/systemd/system/tls-cert-reload.service")?
            .contains("ExecStart=/bin/systemctl try-reload-or-restart nginx") == true)
        #expect(r.service("tls-cert-reload.path")?.enabled == true)

        let cert = try #require(r.command("external TLS certificate \(dir)/cert.pem"))
        let key = try #require(r.command("external TLS key \(dir)/key.pem"))
        #expect(cert.stage == .install && key.stage == .install)
        #expect(key.refusal == "External TLS key not found on the relay: \(dir)/key.pem (tls_external_cert_and_key in "
            + "\(config.path)). Copy it there, or choose another TLS mode, and run again.")
        // Missing: the probe's check fails, so the engine refuses with the refusal.
        FileManager.default.createFile(atPath: "\(dir)/cert.pem", contents: Data("x".utf8))
        #expect(try shell(cert.unless!).status == 0)
        #expect(try shell(key.unless!).status != 0)
        // Both present: nothing to do.
        FileManager.default.createFile(atPath: "\(dir)/key.pem", contents: Data("x".utf8))
        #expect(try shell(key.unless!).status == 0)
    }

    @Test func unitFilesPassSystemdAnalyzeVerify() throws {
        let dir = try scratchDir("web")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let acme = try Rendered(TLS(), try testConfig("mail_domain = chat.example.org"))
        let external = try Rendered(TLS(), try testConfig("mail_domain = chat.example.org",
                                                          "tls_external_cert_and_key = /etc/x/cert.pem /etc/x/key.pem"))
        try verifyUnits((acme.files + external.files).filter(\.isSystemdUnit), in: dir)
    }
}

/// `systemd-analyze verify` on unit files written to `dir`. Programs the
/// deploy installs itself (not present here) may be reported missing;
/// any other complaint fails the test.
func verifyUnits(_ units: [File], in dir: String,
                 installedByDeploy: [String] = ["/usr/bin/acmetool", "/usr/local/bin/iroh-relay", "/usr/local/bin/chatmail-turn"]) throws {
    #expect(!units.isEmpty)
    var paths: [String] = []
    for unit in units {
        let path = dir + "/" + (unit.path as NSString).lastPathComponent
        try Data(unit.content).write(to: URL(fileURLWithPath: path))
        paths.append(path)
    }
    let result = try shell("SYSTEMD_LOG_COLOR=0 systemd-analyze --man=no verify " + paths.joined(separator: " "))
    let complaints = result.output.split(separator: "\n").filter { line in
        !installedByDeploy.contains { line.contains("Command \($0) is not executable") }
    }
    #expect(complaints.isEmpty, "systemd-analyze verify: \(complaints.joined(separator: "\n"))")
}
