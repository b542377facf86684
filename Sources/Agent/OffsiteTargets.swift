import AgentConfig
import Foundation
import Offsite
import S3

/// Turns `[[offsite]]` tables into targets: credentials from the table's file or from the
/// usual AWS variables, read when the target is used so a rotated file is picked up.
public enum OffsiteTargets {
    public static func resolve(_ settings: OffsiteSettings,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws(OffsiteError) -> OffsiteTarget {
        OffsiteTarget(name: settings.name, endpoint: settings.endpoint, region: settings.region, bucket: settings.bucket,
                      prefix: settings.prefix, credentials: try credentials(settings, environment: environment),
                      keyFile: settings.keyFile, packSize: settings.packSize, partSize: settings.partSize,
                      concurrency: settings.concurrency, bandwidthLimit: settings.bandwidthLimit,
                      idleTimeout: .milliseconds(Int64(settings.timeoutSeconds * 1000)))
    }

    public static func named(_ name: String, in targets: [OffsiteSettings], source: String) throws(OffsiteError) -> OffsiteSettings {
        guard let found = targets.first(where: { $0.name == name }) else {
            let known = targets.map(\.name)
            throw OffsiteError(.notInitialized, "\(source) has no [[offsite]] named \"\(name)\"",
                               hint: known.isEmpty ? "add an [[offsite]] table (see docs/operations.md, \"Off-site copies\")"
                                                   : "known targets: \(known.joined(separator: ", "))")
        }
        return found
    }

    /// `key = value` lines (`access_key_id`, `secret_access_key`, `session_token`; the
    /// `aws_` forms of ~/.aws/credentials too); the file must be readable by its owner only.
    static func credentials(_ settings: OffsiteSettings, environment: [String: String]) throws(OffsiteError) -> S3Credentials {
        guard let path = settings.credentialsFile else {
            guard let id = environment["AWS_ACCESS_KEY_ID"], !id.isEmpty,
                  let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
                throw OffsiteError(.badKey, "offsite \(settings.name) has no credentials_file and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set",
                                   hint: "set credentials_file in the [[offsite]] table, or export the two variables")
            }
            return S3Credentials(accessKeyID: id, secretAccessKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
        }
        var info = stat()
        guard stat(path, &info) == 0, let data = FileManager.default.contents(atPath: path), data.count < 64 << 10 else {
            throw OffsiteError(.badKey, "credentials file \(path) cannot be read", hint: "check the path in credentials_file and its permissions")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw OffsiteError(.badKey, "credentials file \(path) is readable by others", hint: "chmod 600 \(path)")
        }
        var values: [String: String] = [:]
        for line in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty || text.hasPrefix("#") || text.hasPrefix("[") { continue }
            guard let equals = text.firstIndex(of: "=") else { continue }
            var key = text[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            if key.hasPrefix("aws_") { key.removeFirst(4) }
            var value = text[text.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            values[key] = value
        }
        guard let id = values["access_key_id"], !id.isEmpty, let secret = values["secret_access_key"], !secret.isEmpty else {
            throw OffsiteError(.badKey, "credentials file \(path) lacks access_key_id or secret_access_key",
                               hint: "write two lines: access_key_id = ... and secret_access_key = ...")
        }
        return S3Credentials(accessKeyID: id, secretAccessKey: secret, sessionToken: values["session_token"])
    }
}
