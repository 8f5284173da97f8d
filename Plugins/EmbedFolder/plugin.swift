import Foundation
import PackagePlugin

/// Compiles a folder of plain files into a target as a `[path: text]`
/// dictionary, so `cmdeploy` is one self-contained binary that needs no
/// files beside it, while the sources stay plain files to read and diff:
///   Deploy   templates/   -> embeddedTemplates
///   Website  www/src/     -> embeddedWebsiteSources (the default web pages)
@main
struct EmbedFolder: BuildToolPlugin {
    static let folders: [String: (folder: String, variable: String)] = [
        "Deploy": ("templates", "embeddedTemplates"),
        "Website": ("www/src", "embeddedWebsiteSources"),
    ]

    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let (folder, variable) = Self.folders[target.name] else {
            Diagnostics.error("EmbedFolder: no folder is configured for target \(target.name)")
            return []
        }
        let root = context.package.directoryURL.appending(path: folder)
        var inputs: [URL] = []
        if let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) {
            for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                inputs.append(url)
            }
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "Embedded-\(target.name).swift")
        return [
            .buildCommand(
                displayName: "Embedding \(inputs.count) files of \(folder)",
                executable: try context.tool(named: "EmbedFiles").url,
                arguments: [root.path, output.path, variable],
                inputFiles: inputs,
                outputFiles: [output]),
        ]
    }
}
