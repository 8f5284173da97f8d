import Support
import CLibSSH2

// Hashes from libcrypto, which libssh2 links anyway.

func sha256(_ bytes: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 32)
    bytes.withUnsafeBufferPointer { _ = SHA256($0.baseAddress, $0.count, &out) }
    return out
}

func hmacSHA1(key: [UInt8], data: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 20)
    var length: UInt32 = 20
    _ = HMAC(EVP_sha1(), key, Int32(key.count), data, data.count, &out, &length)
    return out
}

/// `SHA256:...` as `ssh-keygen -l` prints it.
public func sshFingerprint(keyBlob: [UInt8]) -> String {
    "SHA256:" + Base64.encode(sha256(keyBlob), padding: false)
}

/// Lowercase hex, as sha256sum prints it.
public func sha256Hex(_ bytes: [UInt8]) -> String {
    sha256(bytes).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

/// Cryptographically random bytes (for known_hosts salts); nil if none.
func randomBytes(_ count: Int) -> [UInt8]? {
    var out = [UInt8](repeating: 0, count: count)
    return RAND_bytes(&out, Int32(count)) == 1 ? out : nil
}
