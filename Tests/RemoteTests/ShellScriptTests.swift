import Foundation
import Testing
import TestSupport
@testable import Remote

/// Values in generated scripts stay values: each hostile string, quoted
/// and run by the real /bin/sh, comes back byte for byte.
@Suite struct ShellScriptTests {
    static let hostile = ["plain", "", "with space", "a\"b", "it's", "$HOME", "$(echo x)", "`echo y`",
                          "new\nline", "tab\there", "back\\slash", "semi;colon&amp|pipe", "-dash", "*.glob",
                          "~tilde", "!bang", "{a,b}", "'", "''", "\\'", "ünïcödé", "x=y z", "#comment"]

    /// What /bin/sh prints for `printf '%s\0' ARG...`, split at the NULs.
    func echoed(_ script: ShellScript) throws -> [String] {
        let r = try runTool("/bin/sh", ["-c", script.text], stderr: false)
        #expect(r.status == 0, "\(script.text)")
        var parts = r.output.split(separator: "\0", omittingEmptySubsequences: false).map(String.init)
        if parts.last == "" { parts.removeLast() }
        return parts
    }

    @Test func everyQuotedValueComesBackUnchanged() throws {
        for value in Self.hostile {
            let script: ShellScript = "printf '%s\\0' \(value)"
            #expect(try echoed(script) == [value], "\(value.debugDescription) as \(script.text)")
        }
    }

    @Test func wordsStaySeparateWords() throws {
        let script: ShellScript = "printf '%s\\0' \(words: Self.hostile)"
        #expect(try echoed(script) == Self.hostile)
    }

    @Test func plainWordsAreNotQuoted() {
        // Readable scripts: paths and simple names go in bare.
        #expect(shellQuote("/etc/postfix/main.cf") == "/etc/postfix/main.cf")
        #expect(shellQuote("vmail:vmail") == "vmail:vmail")
        #expect(shellQuote("subjectAltName=DNS:a.test,DNS:www.a.test") == "subjectAltName=DNS:a.test,DNS:www.a.test")
        #expect(shellQuote("") == "''")
        #expect(shellQuote("a b") == "'a b'")
        #expect(shellQuote("it's") == "'it'\\''s'")
    }

    @Test func scriptsNumbersAndRawFragmentsGoInAsTheyAre() {
        let inner: ShellScript = "test -f \("a b")"
        let n = 3
        let s: ShellScript = "\(inner) && exit \(n) || \(raw: "echo \"$?\"") ; chmod \(octal: 0o644) f"
        #expect(s.text == "test -f 'a b' && exit 3 || echo \"$?\" ; chmod 644 f")
        #expect(([inner, "true"] as [ShellScript]).joined(separator: "; ").text == "test -f 'a b'; true")
    }
}
