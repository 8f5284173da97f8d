import Engine
/// The web pages built on this machine, published under /var/www/html.
/// Like the Python tool's rsync without --delete, files that are not part
/// of the build stay untouched.
public struct Website: Component {
    public let name = "website"
    public init() {}

    static let root = "/var/www/html"

    /// Printed by `cmdeploy run` when there is nothing to publish.
    public static func skipNote(_ context: DeployContext) -> String? {
        context.website == nil ? "Building web pages is disabled in chatmail.ini (www_folder), skipping the website" : nil
    }

    public func manifest(_ context: DeployContext) throws -> Manifest {
        let files = (context.website ?? [:]).sorted { $0.key < $1.key }
        for (rel, _) in files where rel.isEmpty || rel.hasPrefix("/") || rel.split(separator: "/").contains("..") {
            throw ManifestError(message: "website: refusing the page path \"\(rel)\" (it must stay inside \(Website.root))")
        }
        // Folders of the pages, owned by www-data as rsync --chown made them.
        var dirs = Set<String>()
        for (rel, _) in files {
            var parts = rel.split(separator: "/").dropLast()
            while !parts.isEmpty {
                dirs.insert(parts.joined(separator: "/"))
                parts = parts.dropLast()
            }
        }
        return Manifest {
            Directory("/var/www")
            if context.website != nil {
                Directory(Website.root, owner: "www-data")
                for dir in dirs.sorted() { Directory(Website.root + "/" + dir, owner: "www-data") }
                for (rel, content) in files { File(Website.root + "/" + rel, content: content, owner: "www-data") }
            }
        }
    }
}
