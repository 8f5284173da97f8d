import ChatmailConfig
import Foundation
import Support

/// Writes the initial chatmail.ini for `cmdeploy init`.
public enum IniWriter {
    public enum Outcome: Equatable {
        case created, replaced, refusedExisting
    }

    public struct Failure: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path): cannot write: \(reason)" }
    }

    /// Writes atomically (temporary file + rename), so an interrupted init
    /// never leaves a half-written chatmail.ini behind, and `--force` keeps
    /// the old file until the new one is complete.
    public static func write(path: String, domain: String, force: Bool) throws(Failure) -> Outcome {
        let exists = FileManager.default.fileExists(atPath: path)
        if exists && !force { return .refusedExisting }
        let text = InitialConfig.render(domain: domain)
        let url = URL(fileURLWithPath: path)
        let tmp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        do {
            try Data(text.utf8).write(to: tmp, options: [.withoutOverwriting])
            if rename(tmp.path, url.path) != 0 {
                let reason = String(cString: strerror(errno))
                try? FileManager.default.removeItem(at: tmp)
                throw Failure(path: path, reason: reason)
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw Failure(path: path, reason: describe(error))
        }
        return exists ? .replaced : .created
    }

    static func describe(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if ns.domain == NSCocoaErrorDomain {
            switch CocoaError.Code(rawValue: ns.code) {
            case .fileNoSuchFile, .fileWriteNoPermission, .fileWriteOutOfSpace, .fileWriteVolumeReadOnly:
                return ns.localizedDescription
            default: break
            }
        }
        return ns.localizedDescription
    }
}
