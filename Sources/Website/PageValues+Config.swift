import Support
import ChatmailConfig

extension PageValues {
    /// Everything the page sources can use. Names follow the chatmail.ini keys
    /// so operators writing their own pages recognise them.
    public static func from(_ config: ChatmailConfig, webdev: Bool = false) throws(QRCode.EncodingError) -> PageValues {
        var v = PageValues()
        v["mail_domain"] = config.mailDomain
        v["invite_url"] = AccountInvite.url(for: config)
        v["self_signed"] = config.tlsMode == .selfSigned ? "true" : ""
        v["account_qr"] = config.tlsMode == .selfSigned ? "" : try AccountInvite.qrSVG(for: config)
        v["qr_png"] = AccountInvite.pngName(for: config)

        v["max_user_send_per_minute"] = String(config.maxUserSendPerMinute)
        v["max_user_send_burst_size"] = String(config.maxUserSendBurstSize)
        v["max_mailbox_size"] = config.maxMailboxSize
        v["max_mailbox_size_mb"] = String(config.maxMailboxSizeMB)
        v["max_message_size"] = String(config.maxMessageSize)
        v["max_message_size_mb"] = megabytes(config.maxMessageSize)
        v["delete_mails_after"] = String(config.deleteMailsAfter)
        v["delete_large_after"] = String(config.deleteLargeAfter)
        v["delete_inactive_users_after"] = String(config.deleteInactiveUsersAfter)
        v["username_min_length"] = numberWord(config.usernameMinLength)
        v["username_max_length"] = numberWord(config.usernameMaxLength)
        v["password_min_length"] = numberWord(config.passwordMinLength)

        let what = ["privacy_postal": "postal address", "privacy_mail": "e-mail",
                    "privacy_pdo": "data protection officer", "privacy_supervisor": "supervisory authority"]
        var missing: [String] = []
        for (key, value) in config.privacyValues {
            let text = value?.trimmingCharacters(in: " \t") ?? ""
            v[key] = text
            if text.isEmpty { missing.append(what[key]!) }
        }
        v["privacy_missing"] = missing.joined(separator: ", ")
        v["privacy_complete"] = missing.isEmpty ? "true" : ""
        v["webdev"] = webdev ? "true" : ""
        // The layout sets these per page; listed here so templates may use them.
        for name in ["content", "pagename", "page_home", "page_info", "page_privacy"] { v[name] = "" }
        return v
    }

    /// 31457280 → "30", 1500000 → "1.4": message sizes in MiB with at most
    /// one decimal, as the Delta Chat apps show sizes.
    static func megabytes(_ bytes: Int) -> String {
        let tenths = (bytes * 10 + 524_288) / 1_048_576
        return tenths % 10 == 0 ? String(tenths / 10) : "\(tenths / 10).\(tenths % 10)"
    }

    /// Small numbers as words, like the pages of the Python relay: 0–12 as
    /// English words, up to 50 as digits, larger ones as "more".
    static func numberWord(_ n: Int) -> String {
        let words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                     "ten", "eleven", "twelve"]
        if n >= 0 && n < words.count { return words[n] }
        return n <= 50 ? String(n) : "more"
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
