import Support
import ChatmailConfig
import Foundation

/// Builds the relay's web pages: every `*.md` in the source folder becomes
/// `<name>.html` inside `page-layout.html`, with chatmail.ini values filled
/// in; every other file is copied as is. Used by `cmdeploy webdev` and by the
/// deploy, which uploads the result to the relay's web root. The sources
/// are a folder, or the default pages compiled into cmdeploy.
public enum WebsiteBuilder {
    public static let layoutName = "page-layout.html"

    public struct Result: Sendable {
        /// Output files, relative to the output folder, sorted.
        public var files: [String]
        /// Files whose content changed in this build.
        public var changed: [String]
    }

    /// Builds the pages of `sourceDir` into `outputDir`.
    @discardableResult
    public static func build(
        config: ChatmailConfig, sourceDir: String, outputDir: String, webdev: Bool = false
    ) throws(WebsiteError) -> Result {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: sourceDir, isDirectory: &isDir), isDir.boolValue else {
            throw WebsiteError(file: sourceDir, "web page source folder not found")
        }
        var sources: [String: [UInt8]] = [:]
        for rel in try sourceFiles(sourceDir) {
            guard let data = FileManager.default.contents(atPath: sourceDir + "/" + rel) else {
                throw WebsiteError(file: sourceDir + "/" + rel, "cannot read")
            }
            sources[rel] = Array(data)
        }
        return try build(config: config, sources: sources, origin: sourceDir, outputDir: outputDir, webdev: webdev)
    }

    /// Builds the pages that come with cmdeploy (www/src, compiled in) into `outputDir`.
    @discardableResult
    public static func buildEmbedded(config: ChatmailConfig, outputDir: String, webdev: Bool = false) throws(WebsiteError) -> Result {
        try build(config: config, sources: embeddedSources, origin: embeddedOrigin, outputDir: outputDir, webdev: webdev)
    }

    static func build(
        config: ChatmailConfig, sources: [String: [UInt8]], origin: String, outputDir: String, webdev: Bool
    ) throws(WebsiteError) -> Result {
        let outputs = try render(config: config, sources: sources, origin: origin, webdev: webdev)
        let changed = try write(outputs, to: outputDir)
        return Result(files: outputs.keys.sorted(), changed: changed)
    }

    /// The pages that come with cmdeploy, as www/src held them at build time.
    public static var embeddedSources: [String: [UInt8]] {
        embeddedWebsiteSources.mapValues { Array($0.utf8) }
    }
    /// How errors and `webdev` name the compiled-in pages.
    public static let embeddedOrigin = "www/src (built into cmdeploy)"

    /// The built pages, relative path -> content, from sources given as
    /// relative path -> content; `origin` names their folder in errors.
    public static func render(
        config: ChatmailConfig, sources: [String: [UInt8]], origin: String, webdev: Bool = false
    ) throws(WebsiteError) -> [String: [UInt8]] {
        guard let layoutBytes = sources[layoutName] else {
            throw WebsiteError(file: origin + "/" + layoutName, "missing")
        }
        let layoutPath = origin + "/" + layoutName
        let layoutText = try utf8(layoutBytes, path: layoutPath)

        var values: PageValues
        do {
            values = try PageValues.from(config, webdev: webdev)
        } catch {
            throw WebsiteError(file: config.path, "mail_domain: \(error)")
        }
        let layout = try PageTemplate(layoutText, file: layoutPath, knownNames: values.names)

        var outputs: [String: [UInt8]] = [:]
        for (rel, bytes) in sources.sorted(by: { $0.key < $1.key }) where rel != layoutName {
            if rel.hasSuffix(".md") {
                let stem = String(rel.dropLast(3))
                let path = origin + "/" + rel
                let html = try renderPage(text: try utf8(bytes, path: path), path: path, stem: stem,
                                          layout: layout, values: values)
                outputs[stem + ".html"] = Array(html.utf8)
            } else {
                outputs[rel] = bytes
            }
        }
        // The printable invite, written in every TLS mode as the Python relay
        // does; the index page of a self-signed relay does not show it (the
        // app would refuse the certificate) and offers a login link instead.
        do {
            outputs[AccountInvite.pngName(for: config)] = try AccountInvite.qrPNG(for: config)
        } catch {
            throw WebsiteError(file: config.path, "mail_domain: \(error)")
        }
        return outputs
    }

    /// One Markdown page: sections first, then Markdown, then values (so
    /// values are HTML-escaped and never read as Markdown), then the layout.
    static func renderPage(text: String, path: String, stem: String, layout: PageTemplate, values: PageValues) throws(WebsiteError) -> String {
        let source = try PageTemplate(text, file: path, knownNames: values.names)
        let markdown = source.renderSections(values)
        let body = try PageTemplate(Markdown.html(markdown), file: path, knownNames: values.names).render(values)
        var pageValues = values
        let pagename = stem == "index" ? "home" : stem
        pageValues["pagename"] = pagename
        pageValues["content"] = body
        for page in ["home", "info", "privacy"] { pageValues["page_" + page] = page == pagename ? "true" : "" }
        return layout.render(pageValues)
    }

    /// Source files relative to `dir`, recursively; hidden files and editor
    /// leftovers (`*.swp`, `*~`) are skipped.
    static func sourceFiles(_ dir: String) throws(WebsiteError) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: dir) else {
            throw WebsiteError(file: dir, "cannot list")
        }
        var files: [String] = []
        while let rel = walker.nextObject() as? String {
            let name = (rel as NSString).lastPathComponent
            if name.hasPrefix(".") || name.hasSuffix(".swp") || name.hasSuffix("~") {
                if walker.fileAttributes?[.type] as? FileAttributeType == .typeDirectory { walker.skipDescendants() }
                continue
            }
            switch walker.fileAttributes?[.type] as? FileAttributeType {
            case .typeRegular?:
                files.append(rel)
            case .typeSymbolicLink?:
                // A linked file is published with the link's name; linked folders are not followed.
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: dir + "/" + rel, isDirectory: &isDir), !isDir.boolValue {
                    files.append(rel)
                }
            default:
                break
            }
        }
        return files.sorted()
    }

    static func utf8(_ bytes: [UInt8], path: String) throws(WebsiteError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw WebsiteError(file: path, "is not UTF-8 text")
        }
        return text
    }

    /// Writes only files whose content differs, then removes what the build
    /// no longer produces, so the folder mirrors the sources exactly.
    static func write(_ outputs: [String: [UInt8]], to outputDir: String) throws(WebsiteError) -> [String] {
        let fm = FileManager.default
        var changed: [String] = []
        do {
            try fm.createDirectory(atPath: outputDir, withIntermediateDirectories: true)
            for (rel, bytes) in outputs.sorted(by: { $0.key < $1.key }) {
                let path = outputDir + "/" + rel
                if let old = fm.contents(atPath: path), Array(old) == bytes { continue }
                try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                       withIntermediateDirectories: true)
                try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
                changed.append(rel)
            }
            let existing = fm.enumerator(atPath: outputDir)?.compactMap { $0 as? String } ?? []
            for rel in existing.sorted(by: >) where outputs[rel] == nil {
                let path = outputDir + "/" + rel
                var isDir: ObjCBool = false
                _ = fm.fileExists(atPath: path, isDirectory: &isDir)
                if isDir.boolValue {
                    if (try? fm.contentsOfDirectory(atPath: path))?.isEmpty == true { try fm.removeItem(atPath: path) }
                } else {
                    try fm.removeItem(atPath: path)
                }
            }
        } catch {
            throw WebsiteError(file: outputDir, "cannot write the built pages: \(error.localizedDescription)")
        }
        return changed
    }
}
