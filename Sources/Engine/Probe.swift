import Remote
import Support
// The fact probe: ONE generated POSIX shell script that reports the current
// state of every declared resource, run in one exec. pyinfra asks one
// question per round trip; this asks them all at once.
//
// Output is line based and tab separated:
//   F <name> <value>                      a host fact
//   R<index> <fields...>                  the state of resource <index>
//   C<index> <base64>                     current content of a changed file (for --diff)
//   END                                   the script ran to its end

/// What the probe found for one resource.
public enum Observed: Sendable, Equatable {
    /// Package: installed (dpkg status "ii") or not.
    case package(installed: Bool)
    case group(exists: Bool)
    case user(exists: Bool, group: String, groups: [String], home: String, shell: String)
    /// Files, directories, downloads and absent paths.
    case path(PathState)
    case line(present: Bool)
    /// A guarded command's `unless` check passed (nothing to do).
    case command(satisfied: Bool)
    case service(enabled: String, active: String)
}

public struct PathState: Sendable, Equatable {
    public enum Kind: String, Sendable { case none, file = "f", directory = "d", symlink = "l", other = "o" }
    public var kind: Kind
    public var mode: UInt32 = 0
    public var owner: String = ""
    public var group: String = ""
    /// sha256 of a regular file's content, when asked for.
    public var sha256: String?

    public static let missing = PathState(kind: .none)
}

public struct HostFacts: Sendable, Equatable {
    public var arch: String = ""
    public var os: String = ""
    public var hasSystemd = false
    /// Services a previous, interrupted run changed inputs of but did not restart.
    public var pendingRestarts: [String] = []
    /// TCP listeners: port → names of the processes listening (`ss -ltnp`),
    /// so a deploy can name what holds a port it needs.
    public var listeners: [Int: [String]] = [:]
    /// The host's IPv4 addresses (for mtail_address).
    public var ipv4Addresses: [String] = []
    /// Another apply holds the host's lock: its owner line ("pid N, since T").
    public var busy: String?
    /// Left by an interrupted run (see Recovery).
    public var leftoverGuard = false
    public var dpkgInterrupted = false
    public var unfinishedMoves = false
    public var leftovers: [String] = []
}

public struct ProbeResult: Sendable {
    public var facts: HostFacts
    public var observed: [Observed?]
    /// Current content of files whose content differs, when a diff was asked for.
    public var currentContent: [Int: [UInt8]]
}

public struct ProbeError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Where the engine keeps its own state on the host.
public let engineStateDir = "/var/lib/cmdeploy"
let pendingRestartsFile = engineStateDir + "/pending-restarts"

public enum Probe {
    /// The probe script for `items`. With `withContent`, changed text files
    /// that are not secret are also sent back, so the plan can show diffs.
    /// `recordHashes` lets it update the host's hash cache (not in a dry run).
    public static func script(for items: [Declared], withContent: Bool = false, recordHashes: Bool = true) -> String {
        var s = """
            # cmdeploy fact probe
            LC_ALL=C; export LC_ALL
            st() {
              if [ -L "$2" ]; then t=l; elif [ -f "$2" ]; then t=f; elif [ -d "$2" ]; then t=d
              elif [ -e "$2" ]; then t=o; else printf '%s\\tnone\\n' "$1"; return; fi
              a=$(stat --printf='%a\\t%U\\t%G' -- "$2" 2>/dev/null)
              h=-; if [ "$t" = f ] && [ "$3" != - ]; then h=$(sha256sum <"$2" | cut -c1-64); fi
              printf '%s\\t%s\\t%s\\t%s\\n' "$1" "$t" "$a" "$h"
              if [ "$4" = 1 ] && [ "$t" = f ] && [ "$h" != "$3" ]; then printf 'C%s\\t' "${1#R}"; base64 -w0 <"$2"; echo; fi
            }
            \(TaggedLine.printf("F", "arch", "\"$(uname -m)\"").text)
            \(TaggedLine.printf("F", "os", "\"$(. /etc/os-release 2>/dev/null; echo \"${ID:-unknown} ${VERSION_ID:-}\")\"").text)
            if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then \(TaggedLine.printf("F", "systemd", "1").text); sd=1; else \(TaggedLine.printf("F", "systemd", "0").text); sd=0; fi
            ip -o -4 addr show 2>/dev/null | awk '{ a = $4; sub(/\\/.*/, "", a); printf "F\\tipv4\\t%s\\n", a }'
            if command -v ss >/dev/null; then
              ss -ltunpH 2>/dev/null | sed 's/^/F\\tlisten\\t/'
            fi
            if [ -f \(pendingRestartsFile) ]; then \(TaggedLine.printf("F", "pending", "\"$(tr '\\n' ' ' <\(pendingRestartsFile))\"").text); fi

            """ + Recovery.probeLines(items)
        // Packages are asked in one dpkg-query call, services in one
        // `systemctl show`, and paths in one `stat` and one `sha256sum`:
        // a process per resource made the probe of a relay take a second.
        var packages: [(Int, String)] = []
        var units: [String] = []
        var unitIDs: [String: [String]] = [:]
        var batchedPaths: [String] = []
        var hashedPaths: [String] = []
        /// Paths are batched unless a diff wants their content or their name
        /// would not survive the tab-separated output (then: `st`, one by one).
        func pathItem(_ id: String, _ path: String, hash: String?, wantContent: Bool) {
            if wantContent || path.contains(where: { $0 == "\t" || $0 == "\n" || $0 == "\\" }) {
                s += "st \(id) \(q(path)) \(hash ?? "-") \(wantContent ? 1 : 0)\n"
                return
            }
            batchedPaths.append(path)
            if hash != nil { hashedPaths.append(path) }
        }
        for (i, item) in items.enumerated() {
            let id = "R\(i)"
            switch item.resource {
            case .package(let p):
                packages.append((i, p.name))
            case .group(let g):
                s += "if getent group \(q(g.name)) >/dev/null; then printf '\(id)\\t1\\n'; else printf '\(id)\\t0\\n'; fi\n"
            case .user(let u):
                let n = q(u.name)
                s += """
                    if e=$(getent passwd \(n)); then printf '\(id)\\t1\\t%s\\t%s\\t%s\\t%s\\n' "$(id -gn \(n))" "$(id -Gn \(n) | tr ' ' ,)" "$(echo "$e" | cut -d: -f6)" "$(echo "$e" | cut -d: -f7)"; else printf '\(id)\\t0\\n'; fi

                    """
            case .download(let d):
                pathItem(id, d.path, hash: d.sha256, wantContent: false)
            case .directory(let d):
                pathItem(id, d.path, hash: nil, wantContent: false)
            case .file(let f):
                pathItem(id, f.path, hash: sha256Hex(f.content), wantContent: withContent && !f.secret)
            case .absent(let a):
                pathItem(id, a.path, hash: nil, wantContent: false)
            case .line(let l):
                s += "if [ -f \(q(l.path)) ] && grep -qxF -- \(q(l.line)) \(q(l.path)); then printf '\(id)\\t1\\n'; else printf '\(id)\\t0\\n'; fi\n"
            case .command(let c):
                if let unless = c.unless {
                    s += "if ( \(unless) ) >/dev/null 2>&1 </dev/null; then printf '\(id)\\t1\\n'; else printf '\(id)\\t0\\n'; fi\n"
                } else {
                    s += "printf '\(id)\\t1\\n'\n"
                }
            case .service(let svc):
                if unitIDs[svc.unit] == nil { units.append(svc.unit) }
                unitIDs[svc.unit, default: []].append(id)
            }
        }
        if !batchedPaths.isEmpty {
            // "S path type mode owner group" for each path that exists (no
            // output: missing), "H sha256 path" for each readable file.
            let paths = batchedPaths.map(q).joined(separator: " ")
            s += "stat --printf='S\\t%n\\t%F\\t%a\\t%U\\t%G\\n' -- \(paths) 2>/dev/null\n"
            if !hashedPaths.isEmpty {
                s += hashScript(hashedPaths.map(q).joined(separator: " "), record: recordHashes)
            }
        }
        if !units.isEmpty {
            // One block per unit, in argument order, separated by blank lines;
            // each becomes "R<i> <unit file state> <active state>", the words
            // `systemctl is-enabled` and `is-active` print.
            let ids = units.map { unitIDs[$0]!.joined(separator: ",") }.joined(separator: " ")
            s += """
                if [ $sd = 1 ]; then systemctl show -p ActiveState -p UnitFileState -- \(units.map(q).joined(separator: " ")) 2>/dev/null |
                  awk -v ids=\(q(ids)) \(q(unitShowAwk)); fi

                """
        }
        if !packages.isEmpty {
            // Unknown packages make dpkg-query complain on stderr; they are simply absent.
            let names = packages.map { q($0.1) }.joined(separator: " ")
            s += "dpkg-query -W -f='P\\t${Package}\\t${db:Status-Abbrev}\\n' \(names) 2>/dev/null || true\n"
        }
        s += "echo END\n"
        return s
    }

    /// Where the probe remembers file hashes: "path, inode:size:mtime:ctime
    /// (ns):device, sha256" per line. A file is hashed again unless all of
    /// them match: any write changes ctime, which no one can set back, so a
    /// file that changed is never taken from here. A file changed within the
    /// last 2 s is not recorded (ctime moves in clock ticks, so a write in
    /// the same tick as the probe's read would keep the key). Written only on
    /// hosts cmdeploy has deployed to (its state folder exists) and never by
    /// a dry run.
    public static let hashCacheFile = engineStateDir + "/hash-cache"

    /// "H sha256 path" for each regular file of `paths` (shell words; other
    /// kinds are never read: a FIFO would block): cached hashes where the
    /// file is unchanged, sha256sum for the rest.
    static func hashScript(_ paths: String, record: Bool) -> String {
        """
        hc=$(stat --printf='%n\\t%F\\t%i:%s:%.9Y:%.9Z:%d\\n' -- \(paths) 2>/dev/null | awk -F'\\t' -v cache=\(hashCacheFile) \(q(hashLookupAwk)))
        hf=$(printf '%s\\n' "$hc" | awk -F'\\t' 'NF == 3 && $1 == "-" { print $2 }' | xargs -r -d '\\n' sha256sum -- 2>/dev/null | sed -n 's/^\\([0-9a-f]\\{64\\}\\)  /\\1\\t/p')
        hs=; \(record ? "[ -d \(engineStateDir) ] && hs=1" : ": dry run, no record")
        printf '%s\\n%s\\n' "$hf" "$hc" | awk -F'\\t' -v cache=\(hashCacheFile) -v save="$hs" -v now="$(date +%s)" -v tmp="\(hashCacheFile).$$" \(q(hashMergeAwk))

        """
    }

    /// Cached hash (or "-"), path and stat key for each regular file of the
    /// `stat` lines ("path, type, key").
    static let hashLookupAwk = #"""
        BEGIN { while ((getline l < cache) > 0) { if (split(l, f, "	") == 3) have[f[1] "	" f[2]] = f[3] } }
        $2 == "regular file" || $2 == "regular empty file" {
            k = $1 "	" $3; print ((k in have) ? have[k] : "-") "	" $1 "	" $3
        }
        """#

    /// Fresh "sha256 path" lines, then the lookup's lines: prints the H lines
    /// and, with `save`, writes the new cache (via a temporary file),
    /// leaving out files whose ctime is less than 2 s before `now`.
    static let hashMergeAwk = #"""
        NF == 2 { fresh[$2] = $1; next }
        NF == 3 {
            h = ($1 == "-") ? fresh[$2] : $1
            if (h == "") next
            print "H	" h "	" $2
            split($3, key, ":")
            if (save != "" && now - int(key[4]) >= 2) { print $2 "	" $3 "	" h > tmp; saved = 1 }
        }
        END { if (saved) { close(tmp); system("mv -f -- '" tmp "' '" cache "'") } }
        """#

    /// `systemctl show -p ActiveState -p UnitFileState U1 U2 ...` to one
    /// line per unit and resource id (`ids`: per unit, comma-separated).
    static let unitShowAwk = #"""
        BEGIN { n = split(ids, unit, " "); i = 1 }
        function flush(   k, m, r) {
            if (got && i <= n) { m = split(unit[i], r, ","); for (k = 1; k <= m; k++) printf "%s\t%s\t%s\n", r[k], u, a }
            if (got) i++
            a = ""; u = ""; got = 0
        }
        /^ActiveState=/ { a = substr($0, 13); got = 1; next }
        /^UnitFileState=/ { u = substr($0, 15); got = 1; next }
        /^$/ { flush(); next }
        END { flush() }
        """#

    public static func parse(_ output: String, items: [Declared]) throws(ProbeError) -> ProbeResult {
        var facts = HostFacts()
        var observed = [Observed?](repeating: nil, count: items.count)
        var content: [Int: [UInt8]] = [:]
        var installed: [String: Bool] = [:]
        var statted: [String: [String]] = [:]   // path -> [kind, mode, owner, group]
        var hashes: [String: String] = [:]
        var complete = false

        for rawLine in output.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = TaggedLine(rawLine)
            let tag = line.tag, f = [tag] + line.fields
            if tag == "END" { complete = true; continue }
            if tag == "F", f.count >= 3 {
                switch f[1] {
                case "arch": facts.arch = f[2]
                case "os": facts.os = f[2].trimmingCharacters(in: " ")
                case "systemd": facts.hasSystemd = f[2] == "1"
                case "pending": facts.pendingRestarts = f[2].split(separator: " ").map(String.init)
                case "ipv4": facts.ipv4Addresses.append(f[2])
                case "busy": facts.busy = f[2].isEmpty ? "owner unknown" : f[2]
                case "guard": facts.leftoverGuard = true
                case "dpkg": facts.dpkgInterrupted = true
                case "moves": facts.unfinishedMoves = true
                case "leftover": facts.leftovers.append(f[2...].joined(separator: "\t"))
                case "listen":
                    // TCP only: the port check is about TCP listeners
                    if let socket = ListeningSocket(ssLine: f[2...].joined(separator: "\t")), socket.proto == .tcp {
                        for name in socket.processes.isEmpty ? [""] : socket.processes
                        where !(facts.listeners[socket.port] ?? []).contains(name) {
                            facts.listeners[socket.port, default: []].append(name)
                        }
                    }
                default: break
                }
                continue
            }
            if tag == "P", f.count >= 3 {
                installed[f[1]] = f[2].hasPrefix("ii")
                continue
            }
            if tag == "S", f.count >= 6 {
                let kind: String
                switch f[2] {
                case "regular file", "regular empty file": kind = "f"
                case "directory": kind = "d"
                case "symbolic link": kind = "l"
                default: kind = "o"
                }
                statted[f[1]] = [kind, f[3], f[4], f[5]]
                continue
            }
            if tag == "H", f.count >= 3 {
                hashes[f[2...].joined(separator: "\t")] = f[1]
                continue
            }
            if tag.hasPrefix("C"), let i = Int(tag.dropFirst()), i < items.count, f.count >= 2 {
                content[i] = Base64.decode(f[1])
                continue
            }
            guard tag.hasPrefix("R"), let i = Int(tag.dropFirst()), i < items.count else { continue }
            switch items[i].resource {
            case .group:
                observed[i] = .group(exists: f.count > 1 && f[1] == "1")
            case .user:
                if f.count >= 6, f[1] == "1" {
                    observed[i] = .user(exists: true, group: f[2],
                                        groups: f[3].split(separator: ",").map(String.init), home: f[4], shell: f[5])
                } else {
                    observed[i] = .user(exists: false, group: "", groups: [], home: "", shell: "")
                }
            case .download, .directory, .file, .absent:
                observed[i] = .path(parsePath(f))
            case .line:
                observed[i] = .line(present: f.count > 1 && f[1] == "1")
            case .command:
                observed[i] = .command(satisfied: f.count > 1 && f[1] == "1")
            case .service:
                observed[i] = .service(enabled: f.count > 1 ? f[1] : "", active: f.count > 2 ? f[2] : "")
            case .package:
                break
            }
        }
        guard complete else {
            throw ProbeError(message: "the fact probe stopped before its end; its output was:\n" + String(output.suffix(2000)))
        }
        for (i, item) in items.enumerated() {
            switch item.resource {
            case .package(let p):
                observed[i] = .package(installed: installed[p.name] ?? false)
            case .service(let svc) where observed[i] == nil && facts.hasSystemd:
                // `systemctl show` stops at the first unit it cannot show;
                // a unit without an answer must not pass for "nothing to do".
                throw ProbeError(message: "the fact probe got no state for \(svc.unit) from `systemctl show`")
            case .download(let d) where observed[i] == nil:
                observed[i] = .path(batchedPath(d.path, statted, hashes))
            case .directory(let d) where observed[i] == nil:
                observed[i] = .path(batchedPath(d.path, statted, hashes))
            case .file(let f) where observed[i] == nil:
                observed[i] = .path(batchedPath(f.path, statted, hashes))
            case .absent(let a) where observed[i] == nil:
                observed[i] = .path(batchedPath(a.path, statted, hashes))
            default:
                break
            }
        }
        return ProbeResult(facts: facts, observed: observed, currentContent: content)
    }

    /// A path of the batched `stat` and `sha256sum`, as `st` reports one:
    /// no stat line means missing; only regular files carry a hash.
    static func batchedPath(_ path: String, _ statted: [String: [String]], _ hashes: [String: String]) -> PathState {
        guard let s = statted[path] else { return .missing }
        return parsePath(["", s[0], s[1], s[2], s[3], s[0] == "f" ? (hashes[path] ?? "-") : "-"])
    }

    static func parsePath(_ f: [String]) -> PathState {
        guard f.count >= 2, let kind = PathState.Kind(rawValue: f[1]), kind != .none else { return .missing }
        var state = PathState(kind: kind)
        if f.count >= 6 {
            state.mode = UInt32(f[2], radix: 8) ?? 0
            state.owner = f[3]
            state.group = f[4]
            state.sha256 = f[5] == "-" ? nil : f[5]
        }
        return state
    }

    static func q(_ s: String) -> String { shellQuote(s) }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
