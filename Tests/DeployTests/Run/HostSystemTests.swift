import Testing
@testable import Deploy

/// The first read of a deploy: which system the host runs, and the refusal
/// of anything but Debian 12 and 13 with what was found.
@Suite struct HostSystemTests {
    static let debian13 = """
        PRETTY_NAME="Debian GNU/Linux 13 (trixie)"
        NAME="Debian GNU/Linux"
        VERSION_ID="13"
        VERSION="13 (trixie)"
        VERSION_CODENAME=trixie
        ID=debian
        """

    @Test func debian12And13AreSupported() throws {
        let s = HostSystem.parse(Self.debian13)
        #expect(s == HostSystem(id: "debian", versionID: "13", prettyName: "Debian GNU/Linux 13 (trixie)"))
        #expect(try s.requireSupported(hostName: "h") == "13")
        let twelve = HostSystem.parse("ID=debian\nVERSION_ID='12'\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n")
        #expect(try twelve.requireSupported(hostName: "h") == "12")
    }

    @Test(arguments: [
        ("PRETTY_NAME=\"Debian GNU/Linux 11 (bullseye)\"\nID=debian\nVERSION_ID=\"11\"\n",
         "relay.example.org runs Debian GNU/Linux 11 (bullseye) (debian 11); cmdeploy deploys relays to Debian 12 (bookworm) and Debian 13 (trixie) only."),
        ("NAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\nID=ubuntu\nID_LIKE=debian\nPRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\n",
         "relay.example.org runs Ubuntu 24.04.1 LTS (ubuntu 24.04);"),
        // testing/unstable have no VERSION_ID
        ("PRETTY_NAME=\"Debian GNU/Linux forky/sid\"\nID=debian\n", "runs Debian GNU/Linux forky/sid (debian);"),
        ("", "relay.example.org runs a system without a readable /etc/os-release;"),
    ])
    func otherSystemsAreRefusedNamingWhatWasFound(_ text: String, _ message: String) throws {
        let e = #expect(throws: DeployFailure.self) { try HostSystem.parse(text).requireSupported(hostName: "relay.example.org") }
        #expect(e?.message.contains(message) == true, "\(e?.message ?? "")")
        #expect(e?.message.contains("Nothing was changed on the host.") == true)
    }

    @Test func commentsAndEscapesAreParsed() {
        let s = HostSystem.parse("# a comment\nID=debian\nPRETTY_NAME=\"say \\\"hi\\\"\"\nVERSION_ID=12\n")
        #expect(s.prettyName == "say \"hi\"" && s.versionID == "12")
    }
}
