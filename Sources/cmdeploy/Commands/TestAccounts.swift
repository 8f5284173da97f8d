import Online
import Remote

/// After `test` and `bench`: the accounts the run made go again (relay
/// issue #763), on the relay through `removeOnRelay` and on the second
/// relay over SSH with the same options. A failure is reported, never fatal.
/// `quiet` (bench --json) keeps stdout to JSON: the lines go to stderr.
func removeTestAccounts(relay: RelayEndpoint, second: RelayEndpoint?, days: Int, sshOptions: SSHOptions,
                        quiet: Bool = false, removeOnRelay: () throws -> AccountCleanup.Result?) {
    func report(_ domain: String, _ result: Result<AccountCleanup.Result?, Error>) {
        switch result {
        case .success(nil): break
        case .success(let r?) where r.left == 0:
            (quiet ? Console.warn : Console.out)("cleanup: removed the \(r.removed) test account\(r.removed == 1 ? "" : "s") from \(domain)")
        case .success(let r?):
            Console.warn("cleanup: removed \(r.removed) test accounts from \(domain), \(r.left) could not be removed")
        case .failure(let error):
            Console.warn("cleanup: the test accounts on \(domain) stay (\(error)); "
                + "its expiry removes them after \(days) days without login")
        }
    }
    report(relay.mailDomain, Result { try removeOnRelay() })
    if let second { report(second.mailDomain, Result { try AccountCleanup.run(onOther: second, sshOptions: sshOptions) }) }
}
