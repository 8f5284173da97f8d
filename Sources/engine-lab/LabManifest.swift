import Deploy
import Engine
import Remote

/// What the lab manifest needs to know about the lab and the variant under test.
struct LabSettings {
    /// The host's FQDN (Postfix's myhostname).
    var hostName: String
    /// Base URL of the lab file server and the sha256 of each file on it.
    var filesURL: String
    var sums: [String: String]
    var arch: String
    /// Content of /etc/labtest/echo.conf: changing it must restart labecho only.
    var echoConfig = "greeting = hello\n"
    /// Goes into Postfix's smtpd_banner, so a test can see which main.cf the
    /// running Postfix loaded.
    var postfixBanner = "lab-1"
    /// A main.cf line that `postfix check` rejects.
    var brokenPostfix = false
    /// Adds a configure command that kills its own SSH session (once).
    var cutConnection = false

    var turnFile: String { "chatmail-turn-\(arch)-linux" }
    var irohFile: String { "iroh-relay-v0.35.0-\(arch)-unknown-linux-musl.tar.gz" }
}

/// `postfix check` reports to syslog only, so on failure the journal's last
/// Postfix errors become the validation output.
let postfixCheck = "postfix -c {dir} check || { rc=$?; journalctl -q --since=-20s -o cat --no-pager "
    + "| grep -E '^(fatal|error):' | tail -n 5; exit $rc; }"

/// Services the lab manifest declares, for the restart checks.
let labServices = ["labecho.service", "labother.service", "postfix.service", "cron.service"]

/// About a hundred resources of every kind, as a relay deploy would declare them.
func labManifest(_ s: LabSettings) -> Manifest {
    var mainCF = """
        # lab Postfix: loopback only
        compatibility_level = 3.6
        myhostname = \(s.hostName)
        mydestination = $myhostname, localhost
        inet_interfaces = loopback-only
        inet_protocols = ipv4
        smtpd_banner = $myhostname ESMTP \(s.postfixBanner)

        """
    if s.brokenPostfix { mainCF += "daemon_directory = /nonexistent/postfix\n" }
    let unit = { (name: String, exec: String) in
        """
        [Unit]
        Description=cmdeploy lab service \(name)

        [Service]
        ExecStart=\(exec)
        Restart=on-failure

        [Install]
        WantedBy=multi-user.target

        """
    }
    return Manifest {
        Package("postfix")
        Package("curl")
        Package("rsync")
        Package("cron")
        Package("openssh-server")
        for g in 1...3 { SystemGroup("labgrp\(g)") }
        for u in 1...3 { SystemUser("labusr\(u)", extraGroups: ["labgrp1"], home: "/var/lib/labtest/u\(u)") }
        Download(s.filesURL + s.turnFile, sha256: s.sums[s.turnFile] ?? "", to: "/usr/local/bin/lab-turn")
        Download(s.filesURL + s.irohFile, sha256: s.sums["iroh-relay"] ?? "", to: "/usr/local/bin/lab-iroh",
                 extract: "tar -xzO ./iroh-relay")
        GuardedCommand("install marker", "mkdir -p /var/lib/labtest && date >/var/lib/labtest/installed",
                       unless: "test -f /var/lib/labtest/installed", stage: .install)

        Directory("/etc/labtest")
        for d in 0..<10 { Directory("/etc/labtest/d\(d)", mode: d == 9 ? 0o750 : 0o755) }
        Directory("/var/lib/labtest", owner: "labusr1", group: "labgrp1", mode: 0o770)
        for i in 0..<60 {
            File("/etc/labtest/d\(i % 10)/f\(i).conf", text: "# lab file \(i)\nvalue = \(i * 7)\n",
                 mode: i % 3 == 0 ? 0o640 : 0o644,
                 validate: i % 10 == 0 ? "grep -q '^# lab' {file} && test -f {dir}/f\(i).conf" : nil)
        }
        File("/etc/labtest/secret.key", text: "not-a-real-key-\(s.hostName)\n", group: "labgrp2", mode: 0o640, secret: true)
        File("/etc/labtest/echo.conf", text: s.echoConfig)
        File("/etc/postfix/main.cf", text: mainCF, validate: postfixCheck)
        File("/etc/systemd/system/labecho.service",
             text: unit("labecho", "/usr/local/bin/lab-turn --config /etc/labtest/echo.conf"))
        File("/etc/systemd/system/labother.service", text: unit("labother", "/usr/local/bin/lab-iroh"))
        for l in 1...5 { LineInFile("/etc/labtest/lines.txt", line: "line \(l)") }
        LineInFile("/etc/labtest/lines.txt", line: "mode = lab", replacing: "mode =")
        for a in ["a", "b", "c"] { Absent("/etc/labtest-old/\(a)") }
        GuardedCommand("state init", "touch /var/lib/labtest/initialized", unless: "test -f /var/lib/labtest/initialized")
        GuardedCommand("index", "ls /etc/labtest/d0 >/var/lib/labtest/index", onChangeOf: ["/etc/labtest/d0/f0.conf"])
        if s.cutConnection {
            // Kills the sshd process serving this apply, then the apply
            // itself: the connection drops after files moved into place
            // but before any restart.
            GuardedCommand("cut connection", """
                touch /var/lib/labtest/cut-done
                p=$$; while [ "$p" -gt 1 ]; do
                  if [ "$(cat /proc/$p/comm)" = sshd ]; then kill -9 "$p"; break; fi
                  p=$(awk '{print $4}' /proc/$p/stat)
                done
                kill -9 0
                """, unless: "test -e /var/lib/labtest/cut-done")
        }

        Service("labecho", restartOn: ["/etc/labtest/echo.conf", "/etc/systemd/system/labecho.service", "/usr/local/bin/lab-turn"])
        Service("labother", restartOn: ["/etc/systemd/system/labother.service", "/usr/local/bin/lab-iroh"])
        Service("postfix", restartOn: ["postfix"], reloadOn: ["/etc/postfix/main.cf"])
        Service("cron")
    }
}
