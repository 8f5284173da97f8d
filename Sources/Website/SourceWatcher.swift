import Support
import Foundation

/// Notices changes under a set of files and folders by polling their
/// modification times and sizes: no inotify needed, and a few hundred
/// files cost well under a millisecond per look.
public struct SourceWatcher {
    public typealias Snapshot = [String: FileStamp]

    public struct FileStamp: Equatable, Sendable {
        var modified: Double
        var size: Int
    }

    let paths: [String]

    public init(paths: [String]) { self.paths = paths }

    public func snapshot() -> Snapshot {
        let fm = FileManager.default
        var result: Snapshot = [:]
        func add(_ path: String) {
            guard let attrs = try? fm.attributesOfItem(atPath: path),
                  attrs[.type] as? FileAttributeType == .typeRegular else { return }
            let date = attrs[.modificationDate] as? Date ?? .distantPast
            result[path] = FileStamp(modified: date.timeIntervalSince1970, size: (attrs[.size] as? Int) ?? 0)
        }
        for path in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else { continue }
            if !isDir.boolValue { add(path); continue }
            for case let rel as String in fm.enumerator(atPath: path)?.allObjects ?? [] {
                let name = (rel as NSString).lastPathComponent
                if name.hasPrefix(".") || name.hasSuffix(".swp") || name.hasSuffix("~") { continue }
                add(path + "/" + rel)
            }
        }
        return result
    }

    /// Paths added, removed or modified between two snapshots, sorted.
    public static func changes(from old: Snapshot, to new: Snapshot) -> [String] {
        Set(old.keys).union(new.keys).filter { old[$0] != new[$0] }.sorted()
    }
}
