import Repository
import Wire

extension BlobID {
    public var wire: WireID { WireID(bytes)! }
    public init(_ wire: WireID) { self = BlobID(bytes: wire.bytes)! }
}
