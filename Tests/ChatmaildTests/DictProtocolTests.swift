import Testing
@testable import Chatmaild

@Suite struct DictProtocolTests {
    @Test func parsesEveryCommand() {
        #expect(DictRequest.parse("H3\t2\t0\tuser\tauth") == .hello)
        #expect(DictRequest.parse("Lshared/userdb/a@b\ta@b") == .lookup(key: "shared/userdb/a@b", user: "a@b"))
        #expect(DictRequest.parse("Lshared/userdb/a@b") == .lookup(key: "shared/userdb/a@b", user: nil))
        #expect(DictRequest.parse("I0\t0\tshared/userdb/") == .iterate(flags: "0", maxRows: "0", path: "shared/userdb/", user: nil))
        #expect(DictRequest.parse("B1\tu@x") == .begin(id: "1", user: "u@x"))
        #expect(DictRequest.parse("S1\tkey\tvalue") == .set(id: "1", key: "key", value: "value"))
        #expect(DictRequest.parse("U1\tkey") == .unset(id: "1", key: "key"))
        #expect(DictRequest.parse("C1") == .commit(id: "1"))
        #expect(DictRequest.parse("D7") == .commit(id: "7"))
        #expect(DictRequest.parse("R1") == .rollback(id: "1"))
        #expect(DictRequest.parse("A1\tkey\t1") == .unknown("A1\tkey\t1"))
        #expect(DictRequest.parse("S1\tonly-key") == .unknown("S1\tonly-key"))
        #expect(DictRequest.parse("I\t") == .unknown("I\t"))
    }

    @Test func unescapesTabEscapes() {
        #expect(tabUnescape("a\u{1}tb\u{1}nc\u{1}1d") == "a\tb\nc\u{1}d")
        #expect(tabEscape("a\tb\nc") == "a\u{1}tb\u{1}nc")
        #expect(tabUnescape(Substring(tabEscape("x\r\t\n\u{1}y"))) == "x\r\t\n\u{1}y")
    }

    struct Recorder: DictService {
        func lookup(key: String, user: String?) -> DictLookupResult { key == "known" ? .found("v") : .notFound }
        func set(user: String?, key: String, value: String) -> Bool { key == "good" && user == "u" }
    }

    @Test func transactionsArePerSession() {
        var a = DictSession(service: Recorder())
        var b = DictSession(service: Recorder())
        _ = a.handle(.begin(id: "1", user: "u"))
        _ = b.handle(.begin(id: "1", user: "u"))
        _ = a.handle(.set(id: "1", key: "good", value: "x"))
        _ = b.handle(.set(id: "1", key: "bad", value: "x"))
        guard case .reply(let ra) = a.handle(.commit(id: "1")), case .reply(let rb) = b.handle(.commit(id: "1")) else {
            Issue.record("commit must reply"); return
        }
        #expect(ra == "O\n")
        #expect(rb == "F\n")
        // A commit for an unknown or already committed transaction fails.
        guard case .reply(let again) = a.handle(.commit(id: "1")) else { Issue.record("no reply"); return }
        #expect(again == "F\n")
        _ = a.handle(.begin(id: "2", user: "u"))
        _ = a.handle(.rollback(id: "2"))
        #expect(a.transactions.isEmpty)
    }

    @Test func lookupsAndIterateReply() {
        var s = DictSession(service: Recorder())
        guard case .reply(let found) = s.handle(.lookup(key: "known", user: nil)),
              case .reply(let missing) = s.handle(.lookup(key: "other", user: nil)),
              case .reply(let iterated) = s.handle(.iterate(flags: "0", maxRows: "0", path: "p", user: nil)) else {
            Issue.record("lookups must reply"); return
        }
        #expect(found == "Ov\n")
        #expect(missing == "N\n")
        #expect(iterated == "\n")
        guard case .none = s.handle(.hello), case .none = s.handle(.unknown("Zjunk")) else {
            Issue.record("hello and unknown get no reply"); return
        }
    }

    @Test func randomJunkNeverCrashesTheParser() {
        var rng = SystemRandomNumberGenerator()
        var s = DictSession(service: Recorder())
        for _ in 0..<2000 {
            let length = Int.random(in: 0..<200, using: &rng)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }.filter { $0 != 10 }
            _ = s.handle(DictRequest.parse(Substring(String(decoding: bytes, as: UTF8.self))))
        }
        #expect(s.transactions.count <= DictSession.maxTransactions)
    }

    @Test func linesThatAreNotUTF8NeverReachTheServiceAsText() {
        #expect(DictRequest.parse(bytes: Array("Lshared/userdb/a@b".utf8)) == .lookup(key: "shared/userdb/a@b", user: nil))
        let bad = Array("Lshared/passdb/pw".utf8) + [0xF6] + Array("\"a@b".utf8)
        #expect(DictRequest.parse(bytes: bad) == .invalidUTF8(.lookup(key: "shared/passdb/pw\u{FFFD}\"a@b", user: nil)))
        var s = DictSession(service: Recorder())
        // A lookup fails instead of asking for the replaced text.
        guard case .reply(let lookup) = s.handle(.invalidUTF8(.lookup(key: "known", user: nil))) else {
            Issue.record("a lookup needs its reply"); return
        }
        #expect(lookup == "F\n")
        guard case .reply(let iterated) = s.handle(DictRequest.parse(bytes: Array("I0\t0\tp\u{FF}".utf8) + [0xFF])) else {
            Issue.record("an iterate needs its end"); return
        }
        #expect(iterated == "\n")
        // A set (or a begin) that is not UTF-8 fails its transaction's commit.
        _ = s.handle(.begin(id: "1", user: "u"))
        _ = s.handle(.invalidUTF8(.set(id: "1", key: "good", value: "x\u{FFFD}")))
        _ = s.handle(.invalidUTF8(.begin(id: "2", user: "u\u{FFFD}")))
        _ = s.handle(.set(id: "2", key: "good", value: "x"))
        guard case .reply(let c1) = s.handle(.commit(id: "1")), case .reply(let c2) = s.handle(.invalidUTF8(.commit(id: "2"))) else {
            Issue.record("commits need their replies"); return
        }
        #expect(c1 == "F\n")
        #expect(c2 == "F\n")
        #expect(s.transactions.isEmpty)
    }
}
