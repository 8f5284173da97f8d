import ChatmailConfig
import Engine
import Remote

/// nginx: the web pages, `/new`, `/mxdeliv`, the iroh proxy, and the ALPN
/// multiplexer that shares port 443 between HTTPS, IMAP and SMTP
/// and, under /.well-known, the mail autoconfig XML and mta-sts.txt.
public struct Nginx: Component {
    public let name = "nginx"
    public init() {}

    static let confPath = "/etc/nginx/nginx.conf"
    static let autoconfigPath = "/var/www/html/.well-known/autoconfig/mail/config-v1.1.xml"
    static let mtaSTSPath = "/var/www/html/.well-known/mta-sts.txt"

    public func manifest(_ context: DeployContext) throws -> Manifest {
        let config = context.config
        let conf = try Nginx.renderConf(config)
        let autoconfig = try Nginx.renderAutoconfig(config)
        let mtaSTS = try Templates.render("nginx/mta-sts.txt.mustache", ["domain": config.mailDomain])
        let validate = Nginx.validateCommand(certPath: config.tlsCertPath, keyPath: config.tlsKeyPath)
        let sandbox = DaemonSandbox.nginx
        let sandboxText = try sandbox.render()
        return Manifest {
            Package("nginx")
            Package("libnginx-mod-stream")
            // The config check makes a stand-in certificate when needed.
            Package("openssl")
            File(Nginx.confPath, text: conf, validate: validate)
            File(Nginx.autoconfigPath, text: autoconfig)
            File(Nginx.mtaSTSPath, text: mtaSTS)
            // A new module or binary needs a restart; a config change only a
            // reload, which keeps open connections.
            Directory("/etc/systemd/system/nginx.service.d")
            File(sandbox.path, text: sandboxText)
            Service("nginx", restartOn: ["nginx", "libnginx-mod-stream", sandbox.path], reloadOn: [Nginx.confPath])
        }
    }

    static func renderConf(_ config: ChatmailConfig) throws -> String {
        try Templates.render("nginx/nginx.conf.mustache", [
            "domain": config.mailDomain,
            "certPath": config.tlsCertPath,
            "keyPath": config.tlsKeyPath,
            "ipv6": !config.disableIPv6,
            "acme": config.tlsMode == .acme,
            // Self-signed relays have no redirect for GET /new (their web
            // page fetches it) and rate-limit it instead.
            "selfSigned": config.tlsMode == .selfSigned,
            "mxdelivPort": String(config.filtermailHTTPPortIncoming),
            // Room for dot-stuffing and a little more, so that filtermail,
            // not nginx, refuses an oversize message (413 with "552 ...").
            "mxdelivMaxBody": String(config.maxMessageSize + config.maxMessageSize / 16 + 65536),
            "cgiScript": Fcgiwrap.scriptPath,
        ] as [String: Any])
    }

    static func renderAutoconfig(_ config: ChatmailConfig) throws -> String {
        func server(_ port: Int, _ socket: String) -> [String: String] { ["port": String(port), "socket": socket] }
        return try Templates.render("nginx/autoconfig.xml.mustache", [
            "domain": config.mailDomain,
            "incoming": [server(993, "SSL"), server(143, "STARTTLS"), server(443, "SSL")],
            "outgoing": [server(465, "SSL"), server(587, "STARTTLS"), server(443, "SSL")],
        ] as [String: Any])
    }

    /// `nginx -t` on the staged config. nginx loads the certificate while
    /// checking, and on a fresh relay it does not exist yet (acmetool and the
    /// self-signed command run later); then the check uses a throwaway
    /// certificate in its place, so every other error is still caught.
    static func validateCommand(certPath: String, keyPath: String) -> String {
        let cert = shellQuote(certPath), key = shellQuote(keyPath)
        return "if [ -e \(cert) ] && [ -e \(key) ]; then nginx -t -q -c {file}; exit; fi; "
            + "t=$(mktemp -d) && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc -days 1"
            + " -subj /CN=nginx-check -keyout \"$t/key\" -out \"$t/cert\" 2>/dev/null"
            + " && sed -e \"s|ssl_certificate .*;|ssl_certificate $t/cert;|\""
            + " -e \"s|ssl_certificate_key .*;|ssl_certificate_key $t/key;|\" {file} >\"$t/nginx.conf\""
            + " && nginx -t -q -c \"$t/nginx.conf\"; rc=$?; rm -rf \"$t\"; exit $rc"
    }

    public func listeners(_ context: DeployContext) -> [Listener] {
        [Listener(80, process: "nginx", purpose: "HTTP"), Listener(443, process: "nginx", purpose: "HTTPS and the TLS multiplexer"),
         Listener(8443, process: "nginx", purpose: "the web pages behind the multiplexer")]
    }
}
