import Mustache

/// The config files a relay gets, from the top-level `templates/` folder
/// (compiled into the binary by the EmbedFolder plugin). Templates are
/// Mustache, rendered as plain text: values are inserted as they are, never
/// HTML-escaped. Logic stays in Swift; templates only fill in values and
/// show or hide sections.
public enum Templates {
    public struct Failure: Error, CustomStringConvertible {
        public var template: String
        public var message: String
        public var description: String { "templates/\(template): \(message)" }
    }

    /// Relative paths of all templates, e.g. `postfix/main.cf.mustache`.
    public static var names: [String] { embeddedTemplates.keys.sorted() }

    /// A template's text exactly as in the repository (for static files).
    public static func text(_ name: String) throws(Failure) -> String {
        guard let text = embeddedTemplates[name] else {
            throw Failure(template: name, message: "no such template (known: \(names.joined(separator: ", ")))")
        }
        return text
    }

    /// Renders a Mustache template with `values` (a dictionary or any value
    /// whose properties the template names).
    public static func render(_ name: String, _ values: Any) throws(Failure) -> String {
        let source = try text(name)
        do {
            let template = try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + source)
            return template.render(values)
        } catch {
            throw Failure(template: name, message: "invalid template: \(error)")
        }
    }
}
