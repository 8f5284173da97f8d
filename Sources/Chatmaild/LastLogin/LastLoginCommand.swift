extension LastLogin {
    /// `chatmaild lastlogin <socket> <ini>`
    static func main(_ args: [String]) throws {
        let (socket, config) = try ServiceSetup.socketAndConfig(args, service: "lastlogin")
        try ServiceSetup.serve(LastLogin(config: config), socket: socket, name: "lastlogin")
    }
}
