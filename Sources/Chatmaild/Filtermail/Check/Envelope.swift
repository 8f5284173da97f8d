/// The SMTP envelope of one transaction, addresses lower-cased.
struct Envelope: Equatable {
    var sender: String
    var recipients: [String]
}
