import Remote
import Support
// What keeps a deploy safe to interrupt at any point: one apply at a time
// per host (a lock), and the repairs the next run does before anything else
// (finish moving staged files into place, finish an interrupted dpkg with
// daemons held back, drop our policy-rc.d guard, delete our temporary
// files). The probe reports what needs repairing, so a run that has nothing
// else to do still repairs, and "No changes" is only said of a clean host.

package enum Recovery {
    /// Held (flock) by every apply script for its whole length, and by
    /// whatever it started that outlives it (an apt-get whose shell was
    /// killed keeps the descriptor). On /run: a crash releases it.
    package static let lockPath = "/run/cmdeploy.lock"
    /// Who holds the lock: "pid N, since TIME".
    package static let ownerPath = "/run/cmdeploy.owner"
    /// The renames of a configuration change, written before the first
    /// rename; the next run (or boot) finishes them.
    package static let movesJournal = engineStateDir + "/moves"
    package static let guardPath = "/usr/sbin/policy-rc.d"
    package static let guardMarker = "# cmdeploy: temporary"
    /// Seconds an apply waits for another one to finish.
    package static let lockWait = 600

    /// Our temporary files beside managed files: `put` (.cmdeploy-new.N),
    /// downloads and extracts (NAME.cmdeploy-new), `putScript` (.cmdeploy-XXXXXX).
    package static let tempFileTest = "\\( -name '.cmdeploy-new.*' -o -name '*.cmdeploy-new' -o -name '.cmdeploy-??????' \\)"

    /// The directories whose temporary files are ours to clean.
    package static func managedDirectories(_ items: [Declared]) -> [String] {
        var dirs: [String] = []
        for item in items {
            let path: String
            switch item.resource {
            case .file(let f): path = f.path
            case .download(let d): path = d.path
            case .line(let l): path = l.path
            default: continue
            }
            let dir = dirname(path)
            if !dirs.contains(dir) { dirs.append(dir) }
        }
        return dirs
    }

    /// True when dpkg's state is half-done and no dpkg is running (an
    /// unattended upgrade in progress looks the same but holds dpkg's lock).
    package static func dpkgInterrupted() -> String {
        "{ ! lslocks -n -o PATH 2>/dev/null | grep -q '^/var/lib/dpkg/lock'"
            + " && { [ -n \"$(ls -A /var/lib/dpkg/updates 2>/dev/null)\" ] || [ -n \"$(dpkg --audit 2>/dev/null)\" ]; }; }"
    }

    /// Probe lines (read-only, under a shared lock): `F busy`, `F guard`,
    /// `F dpkg`, `F moves`, `F leftover`.
    package static func probeLines(_ items: [Declared]) -> String {
        let dirs = managedDirectories(items).map(shellQuote).joined(separator: " ")
        return """
            # A shared lock for the rest of the probe: no apply starts while it looks.
            if ! { command exec 9>>\(lockPath) && flock -n -s 9; } 2>/dev/null; then \(TaggedLine.printf("F", "busy", "\"$(head -n 1 \(ownerPath) 2>/dev/null)\"").text); fi
            if [ -f \(guardPath) ] && grep -qx \(shellQuote(guardMarker)) \(guardPath); then \(TaggedLine.printf("F", "guard", "1").text); fi
            if command -v dpkg >/dev/null && \(dpkgInterrupted()); then \(TaggedLine.printf("F", "dpkg", "1").text); fi
            if [ -f \(movesJournal) ]; then \(TaggedLine.printf("F", "moves", "1").text); fi
            for p in /tmp/cmdeploy-apply.* /tmp/cmdeploy-script.*; do [ -e "$p" ] && \(TaggedLine.printf("F", "leftover", "\"$p\"").text); done
            for d in \(dirs); do [ -d "$d" ] && find "$d" -maxdepth 1 \(tempFileTest) -print; done 2>/dev/null | head -n 50 | sed 's/^/F\\tleftover\\t/'

            """
    }

    /// Shell lines that take the lock on descriptor 9, waiting up to
    /// `lockWait` seconds (telling the engine with `@@wait`), and record the owner.
    package static let takeLock = """
        exec 9>>\(lockPath) || { \(TaggedLine.printf("@@fail", "lock", "\(lockPath)").text); exit 1; }
        if ! flock -n 9; then
          \(TaggedLine.printf("@@wait", "\"$(head -n 1 \(ownerPath) 2>/dev/null)\"").text)
          if ! flock -w \(lockWait) 9; then
            \(TaggedLine.printf("@@fail", "lock", "\(lockPath)").text)
            echo "another apply held it for \(lockWait / 60) minutes ($(head -n 1 \(ownerPath) 2>/dev/null)); processes holding it:"
            for p in /proc/[0-9]*; do ls -l "$p/fd" 2>/dev/null | grep -q ' \(lockPath)$' && echo "  ${p#/proc/}: $(tr '\\0' ' ' <"$p/cmdline" | cut -c1-200)"; done
            exit 1
          fi
        fi
        printf 'pid %s, since %s\\n' $$ "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" >\(ownerPath)

        """

    /// The start of every apply script: the lock (unless the engine's
    /// runner took it already), then the repairs.
    /// Expects `step`/`fail` defined; defines `S` (private staging folder).
    package static func prelude(_ items: [Declared]) -> String {
        let dirs = managedDirectories(items).map(shellQuote).joined(separator: " ")
        return """
            if [ "${CMDEPLOY_LOCKED:-}" != 1 ]; then
            \(takeLock)
            fi
            S=$(mktemp -d /tmp/cmdeploy-apply.XXXXXX) || exit 1
            trap 'rm -rf "$S"' EXIT
            if [ -f \(movesJournal) ]; then
              step 'finish the file moves of an interrupted run'
              sh \(movesJournal) >"$S/out" 2>&1 || fail moves \(movesJournal) "$S/out"
              rm -f \(movesJournal)
            fi
            for p in /tmp/cmdeploy-apply.* /tmp/cmdeploy-script.*; do
              case "$p" in "$S"|"$0"|"$0.log") ;; *) [ -e "$p" ] && rm -rf -- "$p" ;; esac
            done
            for d in \(dirs); do [ -d "$d" ] && find "$d" -maxdepth 1 \(tempFileTest) -exec rm -f -- {} +; done 2>/dev/null
            if [ -f \(guardPath) ] && grep -qx \(shellQuote(guardMarker)) \(guardPath); then rm -f \(guardPath); fi
            if command -v dpkg >/dev/null && \(dpkgInterrupted()); then
              step 'finish the interrupted package installation (dpkg --configure -a, daemons held back)'
            \(policyGuard().split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
              { dpkg --configure -a; \(dpkgInterrupted()) && apt-get -q -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -o DPkg::Lock::Timeout=300 -f install; } </dev/null >"$S/out" 2>&1
              if \(dpkgInterrupted()); then dpkg --audit >>"$S/out" 2>&1; fail dpkg 'configure -a' "$S/out"; fi
            fi

            """
    }

    /// Installs a policy-rc.d for the rest of the script and removes it on
    /// exit. Ours carries a marker line, so one left behind by a run that was
    /// killed (where no EXIT trap runs) is recognised and removed by the next
    /// run; an operator's own policy-rc.d is left alone.
    package static func policyGuard(path: String = guardPath) -> String {
        """
        PRC=\(shellQuote(path))
        if [ ! -e "$PRC" ] || grep -qx \(shellQuote(guardMarker)) "$PRC"; then
          printf '#!/bin/sh\\n\(guardMarker)\\necho "All runlevel operations denied by policy" >&2\\nexit 101\\n' >"$PRC"
          chmod 755 "$PRC"
          trap 'rm -f "$PRC"; rm -rf "$S"' EXIT
        fi

        """
    }

    /// What the plan says it will repair, from the probe's facts.
    package static func repairs(_ facts: HostFacts) -> [String] {
        var out: [String] = []
        if facts.unfinishedMoves { out.append("finish the file moves of an interrupted configuration change") }
        if facts.dpkgInterrupted { out.append("finish the interrupted package installation (dpkg --configure -a, daemons held back)") }
        if facts.leftoverGuard {
            out.append("remove \(guardPath) left by an interrupted run (it keeps package updates from restarting services)")
        }
        if !facts.leftovers.isEmpty {
            let n = facts.leftovers.count
            out.append("remove \(n) temporary file\(n == 1 ? "" : "s") of an interrupted run: "
                + facts.leftovers.prefix(5).joined(separator: ", ") + (n > 5 ? ", …" : ""))
        }
        return out
    }
}
