import Foundation
import Testing
import TestSupport
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support

/// Runs the OpenDKIM policy scripts in Lua 5.3 (the version opendkim links)
/// against a stand-in for opendkim's `odkim` API, to check the decisions:
/// unsigned or misaligned incoming mail is refused, aligned valid mail is
/// accepted with its signatures removed, our own outgoing mail is left alone.
@Suite struct DKIMPolicyScriptTests {
    struct Outcome { var reply: String?; var rejected: Bool; var deleted: Int; var ignored: [String] }

    /// `sigs` are (d= domain, verification result) pairs.
    func run(daemon: String = "VERIFYING", from: String, sigs: [(String, Int)], broken: Bool = false) throws -> Outcome {
        let dir = try scratchDir("lua")
        for name in ["screen.lua", "final.lua"] {
            try Templates.text("opendkim/\(name)").write(toFile: "\(dir)/\(name)", atomically: true, encoding: .utf8)
        }
        let sigTable = sigs.map { "{d=\"\($0.0)\", r=\($0.1)}" }.joined(separator: ", ")
        let harness = """
            SMFIS_REJECT = 5
            SMFIS_TEMPFAIL = 4
            local sigs = {\(sigTable)}
            local out = {reply = "", rejected = false, deleted = 0, ignored = ""}
            ctx = {}
            odkim = {
              get_fromdomain = function(c) return "\(from)" end,
              get_sigcount = function(c) return #sigs end,
              get_sighandle = function(c, i) return sigs[i + 1] end,
              sig_getdomain = function(s) return s.d end,
              sig_ignore = function(s) out.ignored = out.ignored .. s.d .. ";" end,
              sig_result = function(s) \(broken ? "error(\"lookup failed\")" : "return s.r") end,
              get_mtasymbol = function(c, name) if name == "{daemon_name}" then return "\(daemon)" end end,
              del_header = function(c, name, n) assert(name == "DKIM-Signature"); out.deleted = out.deleted + 1 end,
              set_reply = function(c, code, x, text) out.reply = code .. " " .. x .. " " .. text end,
              set_result = function(c, r) out.rejected = (r == SMFIS_REJECT); out.deferred = (r == SMFIS_TEMPFAIL) end,
            }
            dofile("\(dir)/screen.lua")
            dofile("\(dir)/final.lua")
            print(out.reply)
            print(tostring(out.rejected or out.deferred == true))
            print(out.deleted)
            print(out.ignored)
            """
        try harness.write(toFile: "\(dir)/harness.lua", atomically: true, encoding: .utf8)
        let r = try shell("lua5.3 '\(dir)/harness.lua'")
        #expect(r.status == 0, "\(r.output)")
        let lines = r.output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        try #require(lines.count >= 4, "\(r.output)")
        return Outcome(reply: lines[0].isEmpty ? nil : lines[0], rejected: lines[1] == "true",
                       deleted: Int(lines[2]) ?? -1, ignored: lines[3].split(separator: ";").map(String.init))
    }

    init() throws {
        try #require(isInstalled("/usr/bin/lua5.3"), "lua5.3 missing: run scripts/initenv.sh --test-deps")
    }

    @Test func unsignedMailIsRefused() throws {
        let o = try run(from: "example.net", sigs: [])
        #expect(o.rejected)
        #expect(o.reply == "554 5.7.1 No valid DKIM signature found")
    }

    @Test func signatureOfAnotherDomainDoesNotCount() throws {
        let o = try run(from: "example.net", sigs: [("mailer.example.com", 0)])
        #expect(o.ignored == ["mailer.example.com"])
        #expect(o.rejected)
        #expect(o.reply == "554 5.7.1 No valid DKIM signature found")
    }

    @Test func alignedValidSignatureIsAcceptedAndRemoved() throws {
        let o = try run(from: "Example.NET", sigs: [("other.org", 0), ("example.net", 0)])
        #expect(!o.rejected && o.reply == nil)
        #expect(o.deleted == 2)
        #expect(o.ignored == ["other.org"])
    }

    @Test func alignedBrokenSignatureIsRefusedWithItsErrorCode() throws {
        let o = try run(from: "example.net", sigs: [("example.net", 3)])
        #expect(o.rejected)
        #expect(o.reply == "554 5.7.1 DKIM signature is invalid, error code 3")
    }

    @Test func anErrorDuringTheCheckDefersInsteadOfAccepting() throws {
        let o = try run(from: "example.net", sigs: [("example.net", 0)], broken: true)
        #expect(o.rejected)
        #expect(o.reply == "451 4.7.1 DKIM check failed, try again later")
        #expect(o.deleted == 0)
    }

    @Test func ourOwnOutgoingMailIsNotJudged() throws {
        let o = try run(daemon: "ORIGINATING", from: "chat.example.org", sigs: [])
        #expect(!o.rejected && o.reply == nil && o.deleted == 0)
    }
}
