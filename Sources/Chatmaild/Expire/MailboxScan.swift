#if canImport(Glibc)
import Glibc
#endif

/// One file inside a mailbox folder.
struct MailFile {
    let path: String
    let size: Int
    let mtime: Int
    /// Name of the folder holding the file (`cur`, `new`, `tmp`, ...).
    let folder: Substring
}

/// A recursive scan of one mailbox: files directly inside any `cur`, `new`
/// or `tmp` folder (at any depth, so `.Sub/cur` too) are messages, all other
/// files are extra files; the `password` mtime is the last-login day.
struct MailboxScan {
    let path: String
    let name: String
    var lastLogin: Int?
    var messages: [MailFile] = []
    var extras: [MailFile] = []

    init(path: String) {
        self.path = path
        name = String(path.split(separator: "/").last ?? "")
        lastLogin = Files.stat(path + "/password").map { Int($0.st_mtim.tv_sec) }
        walk(path)
    }

    private mutating func walk(_ dir: String) {
        let folder = dir.split(separator: "/").last ?? ""
        let isMailFolder = folder == "cur" || folder == "new" || folder == "tmp"
        for entry in Files.list(dir) ?? [] {
            let p = dir + "/" + entry
            guard let st = Files.lstat(p) else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR: walk(p)
            case S_IFREG:
                let f = MailFile(path: p, size: Int(st.st_size), mtime: Int(st.st_mtim.tv_sec), folder: folder)
                if isMailFolder { messages.append(f) } else { extras.append(f) }
            default: break
            }
        }
    }
}
