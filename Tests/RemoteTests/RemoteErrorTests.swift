import Testing
@testable import Remote

/// Connection failures end with the next step, chosen by what happened.
@Suite struct RemoteErrorTests {
    @Test func refusedTimedOutAndOtherConnectFailures() {
        let refused = RemoteError.connectFailed(host: "root@relay.test", detail: "10.0.0.5 port 22: Connection refused")
        #expect(refused.description.hasPrefix("cannot connect to root@relay.test: 10.0.0.5 port 22: Connection refused\nNext: nothing listens there"))
        let silent = RemoteError.connectFailed(host: "root@relay.test", detail: "10.0.0.5 port 22: timed out")
        #expect(silent.description.contains("\nNext: no answer: a firewall may drop SSH"))
        let other = RemoteError.connectFailed(host: "root@relay.test", detail: "10.0.0.5 port 22: No route to host")
        #expect(other.description.contains("\nNext: check that the host is up"))
    }

    @Test func loginRefusedSaysWhereTheKeyGoes() {
        let e = RemoteError.authenticationFailed(host: "root@relay.test", user: "root", tried: ["key file /home/op/.ssh/id_ed25519"])
        #expect(e.description.contains("  - key file /home/op/.ssh/id_ed25519\nNext: add one of these public keys to ~root/.ssh/authorized_keys on the host"))
    }
}
