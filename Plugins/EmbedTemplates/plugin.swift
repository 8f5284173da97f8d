import Foundation
import PackagePlugin

/// Compiles every file under the package's top-level `templates/` folder
/// into the Deploy library, so `cmdeploy` is one self-contained binary that
/// needs no files beside it, while the templates stay plain files to read
/// and diff.
@main
struct EmbedTemplates: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let root = context.package.directoryURL.appending(path: "templates")
        var inputs: [URL] = []
        if let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) {
            for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                inputs.append(url)
            }
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedTemplates.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(inputs.count) templates",
                executable: try context.tool(named: "EmbedFiles").url,
                arguments: [root.path, output.path],
                inputFiles: inputs,
                outputFiles: [output]),
        ]
    }
}
