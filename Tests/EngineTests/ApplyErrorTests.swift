import Testing
@testable import Engine

/// Failures an operator can fix on the host end with the next step, found
/// in the host's own words (apt's, acmetool's).
@Suite struct ApplyErrorTests {
    func error(_ kind: String, _ subject: String, _ output: String) -> ApplyError {
        ApplyError(host: "root@relay.test", kind: kind, subject: subject, output: output)
    }

    @Test func fullDiskSaysWhereAndWhatToDo() {
        let e = error("apt", "install", "E: You don't have enough free space in /var/cache/apt/archives/.")
        #expect(e.description.hasPrefix("root@relay.test: apt-get install failed\n  | E: You don't have enough free space"))
        #expect(e.description.hasSuffix("\nNext: the disk of root@relay.test is full (`df -h` there shows where): free some space, then run `cmdeploy run` again; it finishes what this run started."))
        #expect(error("file", "/etc/postfix/main.cf", "cp: error writing: No space left on device").nextStep?.contains("is full") == true)
    }

    @Test func aptLockHeldNamesUnattendedUpgrades() {
        let e = error("apt", "install", "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 812 (unattended-upgr)")
        #expect(e.nextStep?.contains("usually unattended-upgrades' daily run") == true)
    }

    @Test func unreachableMirrorAndACMEFailures() {
        #expect(error("apt", "install", "E: Failed to fetch http://deb.debian.org/... Temporary failure resolving 'deb.debian.org'")
            .nextStep?.contains("cannot reach its package mirror") == true)
        let limited = error("command", "acmetool reconcile", "urn:ietf:params:acme:error:rateLimited: too many certificates already issued")
        #expect(limited.nextStep?.contains("rate limit") == true)
        #expect(error("command", "acmetool reconcile", "dial tcp 10.0.0.1:443: connect: connection refused")
            .nextStep?.contains("acme_directory_url is reachable") == true)
    }

    @Test func otherFailuresKeepTheHostsWordsOnly() {
        let e = error("service", "restart nginx.service", "Job for nginx.service failed.")
        #expect(e.nextStep == nil && !e.description.contains("Next:"))
    }
}
