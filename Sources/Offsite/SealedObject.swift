import Crypto
import Foundation

/// The envelope of every object in the bucket: AES-256-GCM with a random nonce, the
/// object's name and the copy's repository id as associated data.
///
///     object = "BRGS" | version u8 (1) | nonce [12] | ciphertext | tag [16]
///
/// Binding the name means an object moved or copied to another name fails to open (a
/// swapped pack, an old catalog put back under a newer generation's name); binding the
/// repository id means an object from another copy sealed with the same key fails too.
enum SealedObject {
    static let magic: [UInt8] = Array("BRGS".utf8)
    static let version: UInt8 = 1
    static let overhead = 4 + 1 + 12 + 16

    static func associatedData(name: String, repository: String) -> [UInt8] {
        Array("barge offsite v1\n\(repository)\n\(name)".utf8)
    }

    static func seal(_ plaintext: [UInt8], name: String, repository: String, key: OffsiteKey) throws(OffsiteError) -> [UInt8] {
        do {
            let box = try AES.GCM.seal(plaintext, using: key.sealing, nonce: AES.GCM.Nonce(),
                                       authenticating: associatedData(name: name, repository: repository))
            var out = magic
            out.reserveCapacity(plaintext.count + overhead)
            out.append(version)
            out += box.nonce.withUnsafeBytes { Array($0) }
            out += box.ciphertext
            out += box.tag
            return out
        } catch {
            throw OffsiteError(.local, "sealing \(name) failed", underlying: error)
        }
    }

    /// Authenticates and decrypts; anything changed, cut, moved or sealed with another key is refused.
    static func open(_ sealed: [UInt8], name: String, repository: String, key: OffsiteKey) throws(OffsiteError) -> [UInt8] {
        Array(try openData(sealed, name: name, repository: repository, key: key))
    }

    /// `open` without the copy into an array: for packs, which are large and held while in flight.
    static func openData(_ sealed: [UInt8], name: String, repository: String, key: OffsiteKey) throws(OffsiteError) -> Data {
        guard sealed.count >= overhead, Array(sealed[0..<4]) == magic else {
            throw OffsiteError(.tampered, "object \(name) is not a sealed barge object (\(sealed.count) bytes, no BRGS header): it was replaced or cut",
                               hint: "delete the snapshots that need it (`barge forget --offsite`) or restore an older one")
        }
        guard sealed[4] == version else {
            throw OffsiteError(.malformed, "object \(name) has envelope version \(sealed[4]); this barge reads \(version)",
                               hint: "use the barge release that wrote it")
        }
        do {
            let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: sealed[5..<17]),
                                            ciphertext: sealed[17..<(sealed.count - 16)],
                                            tag: sealed[(sealed.count - 16)...])
            return try AES.GCM.open(box, using: key.sealing, authenticating: associatedData(name: name, repository: repository))
        } catch {
            throw OffsiteError(.tampered, "object \(name) fails authentication: it was changed, truncated, swapped with another object, or sealed with another key",
                               hint: "nothing from it was used; run `barge verify --offsite NAME --read-data` to list what it affects",
                               underlying: error)
        }
    }
}
