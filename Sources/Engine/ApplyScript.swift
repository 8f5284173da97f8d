import Remote
import Support
// The shell scripts that carry out a plan. Each is sent in one exec, with
// file contents embedded, so applying costs a round trip per batch, not per
// resource. Progress and failures come back as marker lines:
//   @@step <what>            a step begins (for progress output)
//   @@fail <kind> <what>     the step failed; the lines after it are its output
//   @@wait <owner>           another apply holds the host's lock; waiting for it
//
// Built as ShellScript: every path, name, URL and mode interpolated below is
// quoted as one word; `raw:` marks the few trusted fragments (a component's
// own command, a download's extract filter, the embedded base64 blocks).

enum ApplyScript {
    /// Turns apt's status lines ("pmstatus:nginx:45.4545:Installing nginx
    /// (amd64)", "dlstatus:3:27.3:Retrieving file 3 of 11") into
    /// `@@progress` markers; everything else on that stream is dropped.
    /// The package may carry its architecture ("libc6:amd64"), which starts
    /// with a letter where the percent starts with a digit.
    static let aptProgressFilter = #"sed -u -n 's/^\(dlstatus\|pmstatus\):[^:]*\(:[a-z][a-z0-9]*\)\{0,1\}:\([0-9.]*\):\(.*\)$/@@progress\t\1\t\3\t\4/p'"#
    /// Shell settings, the marker functions, then the lock and the repairs
    /// of an interrupted run (Recovery.prelude).
    static func header(_ desired: DesiredState) -> ShellScript {
        """
        set -u
        LC_ALL=C; export LC_ALL
        DEBIAN_FRONTEND=noninteractive; export DEBIAN_FRONTEND
        step() { \(TaggedLine.printf("@@step", "\"$1\"")); }
        fail() { \(TaggedLine.printf("@@fail", "\"$1\"", "\"$2\"")); [ -f "$3" ] && cat "$3"; exit 1; }

        \(raw: Recovery.prelude(desired.items))
        """
    }

    /// A script that only does the repairs (for a plan with nothing else).
    static func repair(_ desired: DesiredState) -> ShellScript {
        header(desired) + "step 'repaired what an interrupted run left'\n"
    }

    /// Packages, groups, users, downloads and install-stage commands.
    static func install(_ plan: Plan, _ desired: DesiredState) -> ShellScript? {
        let changes = plan.changes(in: .install, of: desired)
        guard !changes.isEmpty else { return nil }
        var s = header(desired)
        let items = desired.items
        var toInstall: [String] = []
        var toRemove: [String] = []
        for ch in changes {
            if case .package(let p) = items[ch.index].resource {
                if p.present { toInstall.append(p.name) } else { toRemove.append(p.name) }
            }
        }
        if !toInstall.isEmpty || !toRemove.isEmpty {
            // Maintainer scripts must not start services before their configs
            // are in place: a policy-rc.d blocks that for the duration, and is
            // removed again whatever happens (unless it was there before).
            s += ShellScript(raw: Recovery.policyGuard())
            s += """
                APT="apt-get -q -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -o DPkg::Lock::Timeout=300"

                """
        }
        if !toInstall.isEmpty {
            s += """
                step 'apt-get update'
                apt-get -q update >"$S/out" 2>&1 </dev/null || fail apt update "$S/out"
                step \("apt-get install " + toInstall.joined(separator: " "))
                # apt's status lines (fd 3) become progress markers; its output goes to the log.
                $APT -o APT::Status-Fd=3 install --no-install-recommends \(words: toInstall) </dev/null 3>&1 >"$S/out" 2>&1 |
                  \(raw: aptProgressFilter) || true
                dpkg-query -W -f='${db:Status-Abbrev}\\n' \(words: toInstall) 2>/dev/null | grep -qv '^ii' && fail apt install "$S/out"
                dpkg-query -W \(words: toInstall) >/dev/null 2>&1 || fail apt install "$S/out"
                # apt's last status line is short of 100 %; the checks above say it is done
                printf '@@progress\\tpmstatus\\t100\\t%s\\n' 'all packages installed'

                """
        }
        if !toRemove.isEmpty {
            s += """
                step \("apt-get remove " + toRemove.joined(separator: " "))
                $APT remove \(words: toRemove) >"$S/out" 2>&1 </dev/null || fail apt remove "$S/out"

                """
        }
        for ch in changes {
            switch items[ch.index].resource {
            case .group(let g):
                // A package installed earlier in this batch may have created it.
                s += "step \("group " + g.name); getent group \(g.name) >/dev/null || groupadd --system \(g.name) >\"$S/out\" 2>&1 || fail group \(g.name) \"$S/out\"\n"
            case .user(let u):
                s += userScript(u)
            case .download(let d):
                s += downloadScript(d, contentChanged: ch.contentChanged)
            case .command(let c):
                s += commandScript(c)
            default: break
            }
        }
        return s
    }

    static func userScript(_ u: SystemUser) -> ShellScript {
        let n = u.name, g = u.group
        var s: ShellScript = "step \("user " + n)\n"
        s += "getent group \(g) >/dev/null || groupadd --system \(g) >\"$S/out\" 2>&1 || fail user \(n) \"$S/out\"\n"
        let groups = u.extraGroups.joined(separator: ",")
        let extra: ShellScript = u.extraGroups.isEmpty ? "" : " --groups \(groups)"
        let home: ShellScript = u.home.map { " --home-dir \($0)" } ?? ""
        // Decided on the host, not from the plan: a package installed earlier
        // in this batch (postfix, opendkim) may just have created the account.
        let append: ShellScript = u.extraGroups.isEmpty ? "" : " --append --groups \(groups)"
        s += "if getent passwd \(n) >/dev/null; then usermod --gid \(g)\(append)\(home) --shell \(u.shell) \(n) >\"$S/out\" 2>&1 || fail user \(n) \"$S/out\"\n"
        s += "else useradd --system --gid \(g)\(extra)\(home) --shell \(u.shell) \(n) >\"$S/out\" 2>&1 || fail user \(n) \"$S/out\"; fi\n"
        return s
    }

    static func downloadScript(_ d: Download, contentChanged: Bool) -> ShellScript {
        let p = d.path, temp = d.path + ".cmdeploy-new"
        guard contentChanged else {
            return "chown root:root \(p) && chmod \(octal: d.mode) \(p) || fail download \(p) /dev/null\n"
        }
        // The extract filter is the component's own shell (e.g. `tar -xzO iroh-relay`).
        let filter: ShellScript = d.extract.map { " | \(raw: $0)" } ?? ""
        // Each URL in turn until one gives the pinned bytes; the failure
        // report keeps what every URL answered.
        return """
            step \("download " + d.url)
            mkdir -p "$(dirname -- \(p))"; : >"$S/out"; dl_ok=
            if command -v mawk >/dev/null; then dl_awk="mawk -W interactive"; else dl_awk=awk; fi
            for dl_url in \(words: [d.url] + d.mirrors); do
              # curl's meter (fd 3) becomes progress markers; the status is the pipe's last command's.
              { { curl -fSL --retry 2 --max-time 600 "$dl_url" 2>&3\(filter) >\(temp); echo $? >"$S/dlrc"; } 3>&1 2>>"$S/out" |
                \(raw: curlProgressFilter(name: String(d.path.split(separator: "/").last ?? ""))); } </dev/null
              if [ "$(cat "$S/dlrc")" = 0 ]; then
                dl_sum=$(sha256sum <\(temp) | cut -c1-64)
                if [ "$dl_sum" = \(d.sha256) ]; then dl_ok=1; break; fi
                echo "$dl_url: sha256 is $dl_sum, expected "\(d.sha256) >>"$S/out"
              else echo "$dl_url: download failed" >>"$S/out"; fi
            done
            [ -n "$dl_ok" ] || { rm -f \(temp); fail download \(d.url) "$S/out"; }
            chmod \(octal: d.mode) \(temp) && sync -- \(temp) && mv -f \(temp) \(p) || fail download \(p) /dev/null

            """
    }

    /// Turns curl's progress meter (records ended by CR: "45 12.3M 45 5632k
    /// ...", percent and size of the whole, percent and size received) into
    /// `@@progress` markers, one per update (curl updates once a second);
    /// any other line (curl's error) goes to the step's output. CRs become
    /// line ends first, and both tools pass each line on at once (mawk,
    /// Debian's awk, otherwise fills a large buffer before it reads a record).
    static func curlProgressFilter(name: String) -> String {
        let awk = #"""
            $1 ~ /^[0-9]+$/ && NF >= 12 {
                if ($2 == "0" && $4 == "0") next   # before the first byte
                pct = ($2 == "0") ? "" : $1
                printf "@@progress\tdownload\t%s\t%s: %s of %s\n", pct, name, $4, ($2 == "0" ? "unknown size" : $2)
                fflush(); next
            }
            $1 != "%" && $1 != "Dload" && NF > 0 { print >> err }
            """#
        return "stdbuf -oL tr '\\r' '\\n' | $dl_awk -v name=\(shellQuote(name)) -v err=\"$S/out\" \(shellQuote(awk))"
    }

    /// A component's command runs in a subshell as the component wrote it.
    /// It may report progress as `@@progress` lines on fd 3
    /// (`@@progress<TAB>KIND<TAB>PERCENT or empty<TAB>DETAIL`).
    static func commandScript(_ c: GuardedCommand) -> ShellScript {
        """
        step \("run " + c.name)
        ( \(raw: c.command) ) </dev/null 3>&1 >"$S/out" 2>&1 || fail command \(c.name) "$S/out"

        """
    }

    /// Directories, files (staged, validated, then moved into place), lines,
    /// removals and configure commands; then, for activate, daemon-reload,
    /// enable/disable and restarts in component order.
    static func configureAndActivate(_ plan: Plan, _ desired: DesiredState, stages: Set<Stage>) -> ShellScript? {
        let items = desired.items
        let configure = stages.contains(.configure) ? plan.changes(in: .configure, of: desired) : []
        let activateCommands = stages.contains(.activate) ? plan.changes(in: .activate, of: desired) : []
        let services = stages.contains(.activate) ? plan.services : []
        guard !configure.isEmpty || !activateCommands.isEmpty || !services.isEmpty else { return nil }

        var s = header(desired)
        s += """
            prep() { cp -- "$1" "$2" && chown -- "$3" "$2" && chmod "$4" "$2" && sync -- "$2" || { rm -f -- "$2"; return 1; }; }

            """
        // 1. Directories first: files may live in them.
        for ch in configure {
            guard case .directory(let d) = items[ch.index].resource else { continue }
            s += "mkdir -p \(d.path) && chown \(d.owner + ":" + d.group) \(d.path) && chmod \(octal: d.mode) \(d.path) || fail directory \(d.path) /dev/null\n"
        }
        // 2. Stage changed file contents, grouped by target directory so a
        //    validation sees the new siblings together.
        var stageDirs: [String: Int] = [:]
        var staged: [(File, ShellScript)] = []
        for ch in configure {
            guard case .file(let f) = items[ch.index].resource, ch.contentChanged || ch.detail.hasPrefix("replace") else { continue }
            let dir = dirname(f.path)
            let k = stageDirs[dir] ?? stageDirs.count
            if stageDirs[dir] == nil {
                stageDirs[dir] = k
                s += "mkdir -p \"$S/d\(k)\"\n"
                if configure.contains(where: { if case .file(let g) = items[$0.index].resource { dirname(g.path) == dir && (g.validate?.contains("{dir}") ?? false) } else { false } }) {
                    s += "[ -d \(dir) ] && cp -a \(dir)/. \"$S/d\(k)/\" 2>/dev/null\n"
                }
            }
            // A shell word: the staging folder in double quotes, the file's
            // own name (e.g. from the operator's www folder) quoted.
            let stagedPath: ShellScript = "\"$S/d\(k)/\"\(basename(f.path))"
            s += "base64 -d >\(stagedPath) <<'@@CMDEPLOY-EOF'\n\(raw: Base64.encode(f.content).chunked(76))\n@@CMDEPLOY-EOF\n"
            staged.append((f, stagedPath))
        }
        // 3. Validate every staged file before any of them replaces a live one.
        //    The validate command is the component's shell; {file} and {dir}
        //    become the quoted staged paths.
        for (f, stagedPath) in staged {
            guard let validate = f.validate else { continue }
            let stageDir: ShellScript = "\"$S/d\(stageDirs[dirname(f.path)]!)\""
            let cmd = validate.replacingAll("{file}", with: stagedPath.text)
                .replacingAll("{dir}", with: stageDir.text)
            s += """
                step \("validate " + f.path)
                ( \(raw: cmd) ) </dev/null >"$S/out" 2>&1 || { echo "(validation exited with status $?)" >>"$S/out"; fail validate \(f.path) "$S/out"; }

                """
        }
        // 4. Remember which services must restart, so an interrupted run is
        //    completed by the next one even though the files then look unchanged.
        //    Also without the activate stage: a later `--stages activate`
        //    must still restart what this configure run changed.
        let restarts = (stages.contains(.configure) ? plan.services : services)
            .filter { $0.verb == .restart || $0.verb == .reload }.map(\.unit)
        if !restarts.isEmpty {
            s += "mkdir -p \(engineStateDir) && printf '%s\\n' \(words: restarts) >>\(pendingRestartsFile)\n"
        }
        // 5. Move staged files into place: each is copied beside its target
        //    (owner, mode, fsync), the renames are written to a journal, and
        //    only then renamed. A cut before the journal leaves the old files
        //    live (the copies are cleaned up); a cut after it is finished by
        //    the next run's prelude, so no daemon sees a mix of old and new.
        if !staged.isEmpty {
            var moves: [ShellScript] = []
            var targetDirs: [String] = []
            for (j, (f, stagedPath)) in staged.enumerated() {
                let p = f.path, dir = dirname(f.path)
                let temp = dir == "/" ? "/.cmdeploy-new.\(j)" : dir + "/.cmdeploy-new.\(j)"
                s += "step \("file " + p); mkdir -p \"$(dirname -- \(p))\"; prep \(stagedPath) \(temp) \(f.owner + ":" + f.group) \(octal: f.mode) || fail file \(p) /dev/null\n"
                moves.append("[ ! -e \(temp) ] || mv -f -- \(temp) \(p)")
                if !targetDirs.contains(dir) { targetDirs.append(dir) }
            }
            let journal = Recovery.movesJournal
            let journalText = moves.joined(separator: "\n").text + "\n"
            s += """
                mkdir -p \(engineStateDir) && base64 -d >\(journal + ".new") <<'@@CMDEPLOY-EOF' && sync -- \(journal + ".new") && mv -f -- \(journal + ".new") \(journal) && sync -- \(engineStateDir) || fail file \(journal) /dev/null
                \(raw: Base64.encode(Array(journalText.utf8)).chunked(76))
                @@CMDEPLOY-EOF
                sh \(journal) >"$S/out" 2>&1 || fail file \(journal) "$S/out"
                sync -- \(words: targetDirs) 2>/dev/null; rm -f \(journal)

                """
        }
        for ch in configure {
            switch items[ch.index].resource {
            case .file(let f) where !(ch.contentChanged || ch.detail.hasPrefix("replace")):
                s += "chown \(f.owner + ":" + f.group) \(f.path) && chmod \(octal: f.mode) \(f.path) || fail file \(f.path) /dev/null\n"
            case .line(let l):
                s += lineScript(l)
            case .absent(let a):
                s += "step \("remove " + a.path); rm -rf -- \(a.path) || fail remove \(a.path) /dev/null\n"
            case .command(let c):
                s += commandScript(c)
            default: break
            }
        }
        // 6. Activate.
        if plan.needsDaemonReload && stages.contains(.activate) {
            s += "step 'systemctl daemon-reload'; systemctl daemon-reload >\"$S/out\" 2>&1 || fail systemd daemon-reload \"$S/out\"\n"
        }
        for a in services {
            let u = a.unit, verb = a.verb.rawValue
            // `systemctl cat` fails for a unit that does not exist
            let guardPresent: ShellScript = a.onlyIfPresent ? "systemctl cat \(u) >/dev/null 2>&1 && " : ""
            s += """
                step \(verb + " " + u)
                if \(guardPresent)! systemctl \(verb) \(u) >"$S/out" 2>&1; then
                  { echo; systemctl status --no-pager --lines=0 \(u) 2>&1 | head -n 5; journalctl -u \(u) -n 15 --no-pager -o cat 2>/dev/null; } >>"$S/out"
                  fail service \(verb + " " + u) "$S/out"
                fi

                """
        }
        for ch in activateCommands {
            if case .command(let c) = items[ch.index].resource { s += commandScript(c) }
        }
        if !restarts.isEmpty && stages.contains(.activate) {
            s += "rm -f \(pendingRestartsFile)\n"
        }
        return s
    }

    static func lineScript(_ l: LineInFile) -> ShellScript {
        let p = l.path
        if let prefix = l.replacing {
            // Replace the first line starting with the prefix (dropping later
            // ones), or append. Values go through the environment so awk does
            // not interpret backslashes in them.
            return """
                step \("line in " + p)
                touch \(p) && P=\(prefix) L=\(l.line) awk 'index($0, ENVIRON["P"]) == 1 { if (!done) print ENVIRON["L"]; done = 1; next } { print } END { if (!done) print ENVIRON["L"] }' \(p) >"$S/line" && cat "$S/line" >\(p) || fail line \(p) /dev/null

                """
        }
        return "step \("line in " + p); printf '%s\\n' \(l.line) >>\(p) || fail line \(p) /dev/null\n"
    }

}

/// The folder of `path` ("." without a slash), as the shell's dirname.
public func dirname(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }

    func chunked(_ width: Int) -> String {
        var lines: [Substring] = []
        var rest = Substring(self)
        while !rest.isEmpty {
            lines.append(rest.prefix(width))
            rest = rest.dropFirst(width)
        }
        return lines.joined(separator: "\n")
    }
}
