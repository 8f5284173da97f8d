import CBuildInfo

public enum ChatmaildVersion {
    public static let version = "0.1.0"
    public static var revision: String { String(cString: chatmaild_git_revision()) }
    public static var line: String { "chatmaild \(version) (git \(revision))" }
}
