import ChatmailConfig
#if canImport(Glibc)
import Glibc
#endif

/// The `/new` endpoint: proposes random credentials as JSON. It creates
/// nothing; the first login creates the account (doveauth).
public enum NewEmail {
    public static let defaultConfigPath = HostLayout.iniPath
    static let userAlphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
    /// Python's ascii_letters + digits + punctuation.
    static let passwordAlphabet = Array(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")

    /// The JSON object for one new account.
    static func credentials(config: ChatmailConfig) -> JSON {
        var rng = SystemRandomNumberGenerator()  // getrandom(2): suitable for secrets
        let user = String((0..<config.usernameMaxLength).map { _ in userAlphabet.randomElement(using: &rng)! })
        let password = String((0..<(config.passwordMinLength + 3)).map { _ in passwordAlphabet.randomElement(using: &rng)! })
        let email = "\(user)@\(config.mailDomain)"
        var pairs: [(String, JSON)] = [("email", .string(email)), ("password", .string(password))]
        if config.tlsMode == .selfSigned {
            pairs.append(("dclogin_url", .string(dcloginURL(email: email, password: password, ipv4: config.ipv4Relay))))
        }
        return .object(pairs)
    }

    /// `dclogin:` link that makes Delta Chat accept the self-signed certificate (ic=3).
    static func dcloginURL(email: String, password: String, ipv4: String?) -> String {
        var url = "dclogin:\(percentEncode(email, keep: "@[]"))?p=\(percentEncode(password, keep: ""))&v=1"
        if let ip = ipv4 { url += "&ih=\(ip)&sh=\(ip)" }
        return url + "&ic=3"
    }

    /// urllib.parse.quote: letters, digits and `_.-~` stay, plus `keep`.
    static func percentEncode(_ s: String, keep: String) -> String {
        var out = ""
        for b in s.utf8 {
            let c = Character(Unicode.Scalar(b))
            if b < 0x80, c.isLetter || c.isNumber || "_.-~".contains(c) || keep.contains(c) {
                out.append(c)
            } else {
                let hex = String(b, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" : "") + hex
            }
        }
        return out
    }

    /// The CGI response: headers, an empty line, one line of JSON.
    static func response(configPath: String) -> String {
        do {
            let config = try ChatmailConfig.load(path: configPath)
            return "Content-Type: application/json\n\n" + credentials(config: config).serialized() + "\n"
        } catch {
            Log.error("newemail: \(error.description)")
            let body = JSON.object([("reason", .string("the relay's configuration cannot be read"))]).serialized()
            return "Status: 500 Internal Server Error\nContent-Type: application/json\n\n" + body + "\n"
        }
    }

    /// `chatmaild newemail [ini]`, run by fcgiwrap.
    static func main(_ args: [String]) -> Int32 {
        print(response(configPath: args.first ?? defaultConfigPath), terminator: "")
        return 0
    }
}
