import Testing
import TestSupport
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support

/// The four mail components together, as `cmdeploy run` combines them.
@Suite struct MailRelayListTests {
    @Test(arguments: try MailConfigs.all())
    func componentsCombineWithoutContradictions(_ name: String, _ context: DeployContext) throws {
        let parts = try Relay.components(for: context).map { ($0.name, try $0.manifest(context)) }
        let state = try DesiredState(parts)
        // Every restart trigger names something the relay declares (or the
        // chatmaild binary and package names installed elsewhere).
        let triggers = Set(state.items.compactMap(\.resource.triggerName))
        for item in state.items {
            guard case .service(let s) = item.resource else { continue }
            for t in s.restartOn where t != Filtermail.binary {
                #expect(triggers.contains(t), "\(name): \(s.name) restarts on undeclared \(t)")
            }
        }
        for item in state.items {
            guard case .command(let c) = item.resource else { continue }
            for t in c.onChangeOf { #expect(triggers.contains(t), "\(name): \(c.name) waits for undeclared \(t)") }
        }
    }
}
