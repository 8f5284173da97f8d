import Support
import Remote

/// Anything that can stand in a manifest.
public protocol ResourceConvertible {
    var resources: [Resource] { get }
}

extension Package: ResourceConvertible { public var resources: [Resource] { [.package(self)] } }
extension SystemGroup: ResourceConvertible { public var resources: [Resource] { [.group(self)] } }
extension SystemUser: ResourceConvertible { public var resources: [Resource] { [.user(self)] } }
extension Download: ResourceConvertible { public var resources: [Resource] { [.download(self)] } }
extension Directory: ResourceConvertible { public var resources: [Resource] { [.directory(self)] } }
extension File: ResourceConvertible { public var resources: [Resource] { [.file(self)] } }
extension LineInFile: ResourceConvertible { public var resources: [Resource] { [.line(self)] } }
extension Absent: ResourceConvertible { public var resources: [Resource] { [.absent(self)] } }
extension GuardedCommand: ResourceConvertible { public var resources: [Resource] { [.command(self)] } }
extension Service: ResourceConvertible { public var resources: [Resource] { [.service(self)] } }
extension Resource: ResourceConvertible { public var resources: [Resource] { [self] } }
extension Array: ResourceConvertible where Element: ResourceConvertible {
    public var resources: [Resource] { flatMap(\.resources) }
}

/// Lets a component read like a manifest:
///
///     Manifest {
///         Package("postfix")
///         File("/etc/postfix/main.cf", text: mainCF, validate: "postfix -c {dir} check")
///         if config.mtailAddress != nil { Service("mtail") }
///     }
@resultBuilder
public enum ManifestBuilder {
    public static func buildExpression(_ r: some ResourceConvertible) -> [Resource] { r.resources }
    public static func buildBlock(_ parts: [Resource]...) -> [Resource] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [Resource]?) -> [Resource] { part ?? [] }
    public static func buildEither(first: [Resource]) -> [Resource] { first }
    public static func buildEither(second: [Resource]) -> [Resource] { second }
    public static func buildArray(_ parts: [[Resource]]) -> [Resource] { parts.flatMap { $0 } }
}

public struct Manifest: ResourceConvertible, Sendable {
    public var resources: [Resource]
    public init(@ManifestBuilder _ build: () -> [Resource]) { resources = build() }
    public init(resources: [Resource]) { self.resources = resources }
}

/// A listening socket a relay is expected to have.
public struct Listener: Sendable, Equatable, Hashable {
    public enum Proto: String, Sendable { case tcp, udp }
    public var port: Int
    public var proto: Proto
    /// The process name `ss -p` shows for its owner (the kernel's 15-byte `comm`).
    public var process: String
    /// What it is for, for messages ("SMTP", "IMAPS" ...).
    public var purpose: String

    public init(_ port: Int, _ proto: Proto = .tcp, process: String, purpose: String) {
        self.port = port
        self.proto = proto
        self.process = process
        self.purpose = purpose
    }
}

/// A resource together with the component that declared it.
public struct Declared: Sendable, Equatable {
    public var component: String
    public var resource: Resource
}

public struct ManifestError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}

/// All components' resources, checked for contradictions.
public struct DesiredState: Sendable {
    public var items: [Declared]

    public init(_ parts: [(component: String, manifest: Manifest)]) throws(ManifestError) {
        var seen: [String: String] = [:]
        var items: [Declared] = []
        for (component, manifest) in parts {
            for r in manifest.resources {
                if let other = seen[r.key] {
                    // The same package may be wanted by several components.
                    if case .package = r, items.contains(where: { $0.resource == r }) { continue }
                    throw ManifestError(message: "\(component) and \(other) both declare \(r.key)")
                }
                if case .command(let c) = r, c.unless == nil, c.onChangeOf.isEmpty {
                    throw ManifestError(message: "\(component): command \"\(c.name)\" has no `unless` check "
                        + "and no `onChangeOf` trigger, so it would run on every deploy")
                }
                seen[r.key] = component
                items.append(Declared(component: component, resource: r))
            }
        }
        self.items = items
    }
}
