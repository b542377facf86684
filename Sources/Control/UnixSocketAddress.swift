import Foundation

/// A `sockaddr_un` for a path; nil when the path does not fit (107 bytes).
/// A leading "@" names an abstract socket (a NUL byte in its place).
public enum UnixSocketAddress {
    public static func make(_ path: String) -> (address: sockaddr_un, length: socklen_t)? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        if bytes[0] == UInt8(ascii: "@") { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let length = bytes[0] == 0 ? MemoryLayout<sa_family_t>.size + bytes.count : MemoryLayout<sockaddr_un>.size
        return (address, socklen_t(length))
    }

    /// Calls `body` with the address as a `sockaddr` pointer and its length.
    public static func with<T>(_ address: (address: sockaddr_un, length: socklen_t), _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        var copy = address.address
        return withUnsafePointer(to: &copy) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, address.length) } }
    }
}
