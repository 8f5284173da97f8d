extension DoveAuth {
    /// `chatmaild doveauth <socket> <ini>`
    static func main(_ args: [String]) throws {
        let (socket, config) = try ServiceSetup.socketAndConfig(args, service: "doveauth")
        if Files.exists(config.passdbPath) {
            // The SQLite era ended in 2024; converting needs the Python relay's
            // migrate step, which this binary does not carry.
            Log.warning("legacy SQLite passdb \(config.passdbPath) is not migrated by this version; "
                + "its accounts cannot log in until converted")
        }
        try ServiceSetup.serve(DoveAuth(config: config), socket: socket, name: "doveauth")
    }
}
