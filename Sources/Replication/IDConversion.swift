import Repository
import Wire

extension BlobID {
    var wire: WireID { WireID(bytes)! }
    init(_ wire: WireID) { self = BlobID(bytes: wire.bytes)! }
}
