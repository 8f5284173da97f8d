import ChatmailConfig
import Foundation
import Testing
import TestSupport
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support

@Suite struct NginxComponentTests {
    func conf(_ lines: String...) throws -> (Rendered, String) {
        let config = try ChatmailConfig.parse((["[params]"] + lines).joined(separator: "\n") + "\n", path: "chatmail.ini")
        let r = try Rendered(Nginx(), config)
        return (r, try #require(r.text("/etc/nginx/nginx.conf")))
    }

    @Test func acmeRelay() throws {
        let (r, text) = try conf("mail_domain = chat.example.org")
        #expect(r.packages == ["nginx", "libnginx-mod-stream", "openssl"])
        #expect(text.hasPrefix("# Written by cmdeploy"))
        #expect(text.contains("load_module modules/ngx_stream_module.so;\n"))
        // ALPN multiplexing on 443.
        #expect(text.contains("        default 127.0.0.1:8443;\n        ~\\bsmtp\\b 127.0.0.1:465;\n        ~\\bimap\\b 127.0.0.1:993;\n"))
        #expect(text.contains("        listen 443;\n        listen [::]:443;\n        ssl_preread on;\n        proxy_pass $proxy;\n"))
        #expect(text.components(separatedBy: "access_log").count == 2, "exactly one access_log line")
        #expect(text.contains("ssl_certificate /var/lib/acme/live/chat.example.org/fullchain;"))
        #expect(text.contains("ssl_certificate_key /var/lib/acme/live/chat.example.org/privkey;"))
        #expect(text.contains("server_name chat.example.org mta-sts.chat.example.org;"))
        #expect(text.contains("server_name www.chat.example.org;\n        return 301 $scheme://chat.example.org$request_uri;"))
        #expect(text.contains("proxy_pass http://127.0.0.1:10082;"))
        #expect(text.components(separatedBy: "return 301 dcaccount:https://chat.example.org/new;").count == 3)
        #expect(text.components(separatedBy: "fastcgi_param SCRIPT_FILENAME /usr/lib/cgi-bin/newemail.py;").count == 3)
        #expect(!text.contains("limit_req"))
        #expect(text.contains("location /relay {\n            proxy_pass http://127.0.0.1:3340;"))
        #expect(text.contains("proxy_set_header Connection \"upgrade\";"))
        #expect(text.contains("location /generate_204"))
        #expect(text.contains("upstream acmetool {\n        server 127.0.0.1:402;"))
        #expect(text.contains("location /.well-known/acme-challenge/ {\n            proxy_pass http://acmetool;"))
        #expect(text.contains("        listen 80;\n        listen [::]:80;\n"))
        #expect(text.contains("return 301 https://$host$request_uri;"))
        let nginx = try #require(r.service("nginx"))
        #expect(nginx.reloadOn == ["/etc/nginx/nginx.conf"])
        #expect(nginx.restartOn == ["nginx", "libnginx-mod-stream", DaemonSandbox.nginx.path])
        #expect(r.file("/etc/nginx/nginx.conf")?.validate?.contains("nginx -t -q -c {file}") == true)
    }

    @Test func selfSignedRelayRateLimitsNewInsteadOfRedirecting() throws {
        let (_, text) = try conf("mail_domain = _chat.example.org")
        #expect(text.contains("limit_req_zone $binary_remote_addr zone=newaccount:10m rate=2r/s;"))
        #expect(text.contains("location /new {\n            limit_req zone=newaccount burst=5 nodelay;\n            fastcgi_pass"))
        // The legacy URL has no limit and, here, no redirect either.
        #expect(text.contains("location /cgi-bin/newemail.py {\n            fastcgi_pass"))
        #expect(!text.contains("dcaccount:"))
        #expect(!text.contains("acmetool"))
        #expect(text.contains("ssl_certificate /etc/ssl/certs/mailserver.pem;"))
    }

    @Test func ipv4RelayAndDisabledIPv6() throws {
        let (_, v4) = try conf("mail_domain = 10.1.2.3")
        #expect(v4.contains("server_name [10.1.2.3] mta-sts.[10.1.2.3];"))
        #expect(v4.contains("limit_req zone=newaccount"))
        let (_, noV6) = try conf("mail_domain = chat.example.org", "disable_ipv6 = True")
        #expect(!noV6.contains("[::]"))
        #expect(noV6.contains("        listen 443;\n        ssl_preread on;"))
        #expect(noV6.contains("        listen 80;\n\n        location /.well-known"))
    }

    @Test func autoconfigAndMTASTS() throws {
        let (r, _) = try conf("mail_domain = chat.example.org")
        let xml = try #require(r.text("/var/www/html/.well-known/autoconfig/mail/config-v1.1.xml"))
        #expect(xml.contains("<emailProvider id=\"chat.example.org\">"))
        #expect(xml.contains("<displayName>chat.example.org chatmail</displayName>"))
        func ports(_ kind: String) -> [String] {
            xml.components(separatedBy: "<\(kind) type=").dropFirst().map {
                let port = $0.components(separatedBy: "<port>")[1].components(separatedBy: "</port>")[0]
                let socket = $0.components(separatedBy: "<socketType>")[1].components(separatedBy: "</socketType>")[0]
                return "\(port) \(socket)"
            }
        }
        #expect(ports("incomingServer") == ["993 SSL", "143 STARTTLS", "443 SSL"])
        #expect(ports("outgoingServer") == ["465 SSL", "587 STARTTLS", "443 SSL"])
        #expect(xml.components(separatedBy: "<username>%EMAILADDRESS%</username>").count == 7)
        #expect(xml.components(separatedBy: "<hostname>chat.example.org</hostname>").count == 7)
        #expect(r.text("/var/www/html/.well-known/mta-sts.txt") == "version: STSv1\nmode: enforce\nmx: chat.example.org\nmax_age: 2419200\n")
    }

    /// The deploy's own validation command, run by the real nginx on every
    /// kind of config. Without certificates (a fresh host) it checks with a
    /// stand-in; with the external certificates present, with those.
    @Test(arguments: [
        ["mail_domain = chat.example.org"],
        ["mail_domain = _chat.example.org"],
        ["mail_domain = 10.1.2.3"],
        ["mail_domain = chat.example.org", "disable_ipv6 = True"],
        ["mail_domain = chat.example.org", "iroh_relay = https://iroh.example.org"],
    ])
    func realNginxAcceptsTheConfig(_ lines: [String]) throws {
        let dir = try scratchDir("web")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try ChatmailConfig.parse((["[params]"] + lines).joined(separator: "\n") + "\n", path: "chatmail.ini")
        #expect(!FileManager.default.fileExists(atPath: config.tlsCertPath), "test needs a host without relay certificates")
        try runValidation(config, dir: dir)
    }

    @Test func realNginxWithExternalCertificates() throws {
        let dir = try scratchDir("web")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc -days 2 -subj /CN=chat.example.org "
            + "-keyout \(dir)/key.pem -out \(dir)/cert.pem")
        let config = try testConfig("mail_domain = chat.example.org",
                                    "tls_external_cert_and_key = \(dir)/cert.pem \(dir)/key.pem")
        try runValidation(config, dir: dir)
        // A broken certificate must be reported, not replaced by the stand-in.
        try Data("not a certificate".utf8).write(to: URL(fileURLWithPath: "\(dir)/cert.pem"))
        let error = #expect(throws: ValidationFailed.self) { try runValidation(config, dir: dir) }
        #expect(error?.output.contains("\(dir)/cert.pem") == true, "\(error?.output ?? "")")
    }

    @Test func realNginxRejectsABrokenConfig() throws {
        let dir = try scratchDir("web")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try testConfig("mail_domain = chat.example.org")
        let broken = try Nginx.renderConf(config).replacingOccurrences(of: "ssl_preread on;", with: "ssl_preread maybe;")
        let error = #expect(throws: ValidationFailed.self) { try runValidation(config, dir: dir, content: broken) }
        #expect(error?.output.contains("\"ssl_preread\"") == true, "\(error?.output ?? "")")
    }

    struct ValidationFailed: Error { var output: String }

    /// Stages the config as the engine does and runs the file's validate command.
    func runValidation(_ config: ChatmailConfig, dir: String, content: String? = nil) throws {
        let file = try #require(try Rendered(Nginx(), config).file("/etc/nginx/nginx.conf"))
        let staged = "\(dir)/nginx.conf"
        try Data((content ?? String(decoding: file.content, as: UTF8.self)).utf8).write(to: URL(fileURLWithPath: staged))
        let validate = try #require(file.validate)
        let cmd = validate.replacingOccurrences(of: "{file}", with: "\"\(staged)\"")
            .replacingOccurrences(of: "{dir}", with: "\"\(dir)\"")
        let result = try shell("PATH=/usr/sbin:/usr/bin:/sbin:/bin; ( \(cmd) )")
        if result.status != 0 { throw ValidationFailed(output: result.output) }
        #expect(!result.output.contains("emerg"), "\(result.output)")
    }
}
