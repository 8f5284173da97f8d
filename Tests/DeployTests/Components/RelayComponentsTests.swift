import Testing
import TestSupport
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support

@Suite struct RelayComponentsTests {
    @Test func baseComponentsComeInReferenceOrder() throws {
        let names = Relay.components(for: try componentContext()).map(\.name)
        let mine = ["base", "legacy-remove", "journald", "unbound", "chatmaild", "mta-sts", "mtail", "version"]
        #expect(names.filter(mine.contains) == mine)
        #expect(names.first == "base")
        #expect(names.last == "version")
    }

    /// All components together declare no path, unit or command twice, in
    /// every configuration the tests use.
    @Test(arguments: [
        ("chat.example.org", [String]()),
        ("1.2.3.4", []),
        ("chat.example.org", ["mtail_address = 127.0.0.1"]),
        ("chat.example.org", ["dns_forwarders = 10.77.0.1", "dns_unsigned_zones = test 10.in-addr.arpa"]),
    ])
    func manifestsCombineWithoutContradictions(domain: String, lines: [String]) throws {
        let context = try componentContext(domain: domain, lines)
        let desired = try DesiredState(components: Relay.components(for: context), context: context)
        #expect(desired.items.count > 40)
    }
}
