import Foundation
import NIOHTTP1

/// One entry of a listing.
public struct S3Object: Sendable, Equatable {
    public let key: String
    public let size: Int
    public init(key: String, size: Int) { self.key = key; self.size = size }
}

public enum PutOutcome: Sendable, Equatable {
    /// The object was stored by this call.
    case stored
    /// An object of that name was already there (a conditional put refused to overwrite it).
    /// `afterRetry` says an earlier attempt of this same call may have stored it.
    case alreadyExists(afterRetry: Bool)
}

extension S3Client {
    /// S3's smallest part (but the last) of a multipart upload.
    public static let minimumPartSize = 5 * 1024 * 1024

    /// Stores an object; with `ifAbsent`, only if no object of that name exists (If-None-Match: *),
    /// so nothing already there is overwritten.
    public func put(_ key: String, _ body: [UInt8], ifAbsent: Bool) async throws(S3Error) -> PutOutcome {
        let headers = ifAbsent ? [(name: "If-None-Match", value: "*")] : []
        let (response, retried) = try await send(.PUT, key: key, headers: headers, body: body, accepted: [200, 412])
        return response.status == 412 ? .alreadyExists(afterRetry: retried) : .stored
    }

    /// The object's bytes, or nil if there is none. Refuses answers above `maxLength`.
    public func get(_ key: String, maxLength: Int) async throws(S3Error) -> [UInt8]? {
        let (response, _) = try await send(.GET, key: key, accepted: [200, 404], maxResponse: maxLength)
        return response.status == 404 ? nil : response.body
    }

    /// Deletes an object; deleting one that is not there is not an error (S3 answers 204 either way).
    public func delete(_ key: String) async throws(S3Error) {
        _ = try await send(.DELETE, key: key, accepted: [200, 204, 404])
    }

    /// Every object whose key starts with `prefix`, following continuation tokens.
    public func list(prefix: String) async throws(S3Error) -> [S3Object] {
        var objects: [S3Object] = []
        var token: String?
        repeat {
            var query = [(name: "list-type", value: "2"), (name: "prefix", value: prefix)]
            if let token { query.append((name: "continuation-token", value: token)) }
            let (response, _) = try await send(.GET, key: nil, query: query, maxResponse: 16 << 20)
            let body = response.body[...]
            for range in S3XML.elements("Contents", in: body) {
                let entry = body[range]
                guard let key = S3XML.values(of: "Key", in: entry).first,
                      let size = S3XML.values(of: "Size", in: entry).first.flatMap(Int.init), size >= 0 else {
                    throw S3Error(.malformedResponse, "listing \(prefix): an entry without Key or Size")
                }
                objects.append(S3Object(key: key, size: size))
            }
            let truncated = S3XML.values(of: "IsTruncated", in: body).first == "true"
            token = truncated ? S3XML.values(of: "NextContinuationToken", in: body).first : nil
            if truncated && token == nil {
                throw S3Error(.malformedResponse, "listing \(prefix): truncated without a continuation token")
            }
        } while token != nil
        return objects
    }

    /// Creates the bucket; one that exists and is ours already is fine.
    public func createBucket() async throws(S3Error) {
        do {
            _ = try await send(.PUT, key: nil)
        } catch let error where error.serverCode == "BucketAlreadyOwnedByYou" {
            return
        }
    }

    // MARK: multipart

    /// Stores a large object in parts of `partSize`, committed only by the last call, so a
    /// reader never sees part of it. With `ifAbsent`, the completion is conditional.
    /// An upload that fails is aborted so its parts do not linger.
    public func putMultipart(_ key: String, _ body: [UInt8], partSize: Int, ifAbsent: Bool) async throws(S3Error) -> PutOutcome {
        let size = max(partSize, Self.minimumPartSize)
        let (created, _) = try await send(.POST, key: key, query: [(name: "uploads", value: "")])
        guard let uploadID = S3XML.value(of: "UploadId", in: created.body), !uploadID.isEmpty else {
            throw S3Error(.malformedResponse, "multipart upload of \(key): no UploadId in the answer")
        }
        do throws(S3Error) {
            var etags: [String] = []
            var start = 0
            repeat {
                let end = min(body.count, start + size)
                let query = [(name: "partNumber", value: String(etags.count + 1)), (name: "uploadId", value: uploadID)]
                let (part, _) = try await send(.PUT, key: key, query: query, body: Array(body[start..<end]))
                guard let etag = part.header("ETag") else {
                    throw S3Error(.malformedResponse, "part \(etags.count + 1) of \(key): no ETag in the answer")
                }
                etags.append(etag)
                start = end
            } while start < body.count
            var xml = "<CompleteMultipartUpload>"
            for (index, etag) in etags.enumerated() {
                xml += "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(Self.escape(etag))</ETag></Part>"
            }
            xml += "</CompleteMultipartUpload>"
            let headers = ifAbsent ? [(name: "If-None-Match", value: "*")] : []
            let (done, retried) = try await send(.POST, key: key, query: [(name: "uploadId", value: uploadID)],
                                                 headers: headers, body: Array(xml.utf8), accepted: [200, 412])
            if done.status == 412 {
                try? await abort(key, uploadID)
                return .alreadyExists(afterRetry: retried)
            }
            // S3 may answer 200 with an error in the body.
            if !S3XML.elements("Error", in: done.body[...]).isEmpty {
                let code = S3XML.value(of: "Code", in: done.body) ?? "InternalError"
                throw S3Error(.server, "completing \(key): \(code)", status: 200, serverCode: code)
            }
            return .stored
        } catch {
            try? await abort(key, uploadID)
            throw error
        }
    }

    private func abort(_ key: String, _ uploadID: String) async throws(S3Error) {
        _ = try await send(.DELETE, key: key, query: [(name: "uploadId", value: uploadID)], accepted: [200, 204, 404])
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
