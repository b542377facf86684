import CLibrsync

/// What a job does; decides which error code a failed `rs_result` maps to.
enum RsyncJobKind: String {
    case signature, loadSignature = "load signature", delta, patch

    /// Input-caused failures blame the input; failures on our own data are internal.
    func code(for result: rs_result) -> DeltaError.Code {
        if result == RS_MEM_ERROR { return .internal }
        switch self {
        case .loadSignature: return .badSignature
        case .patch: return .badDelta
        case .signature, .delta: return .internal
        }
    }
}

/// librsync logs failures to stderr by default. A library must not write there, and every
/// failure reaches the caller as a `DeltaError` anyway, so logging is switched off once.
private let librsyncLoggingOff: Void = rs_trace_to(nil)

/// Owns one `rs_job_t` and frees it exactly once; `~Copyable` so it cannot be freed twice.
struct RsyncJob: ~Copyable {
    private let job: OpaquePointer
    let kind: RsyncJobKind

    /// Output space offered per `rs_job_iter` call. Output goes through this scratch buffer
    /// and is appended with one memcpy: growing the array in place would need it zero-filled
    /// first, which unoptimized (debug) builds do a byte at a time.
    private static let scratchSize = 1 << 20
    /// `rs_job_iter` calls in a row that may make no progress before we call the job stuck.
    private static let maxStalls = 4

    init(_ kind: RsyncJobKind, _ begin: () -> OpaquePointer?) throws(DeltaError) {
        librsyncLoggingOff
        guard let job = begin() else {
            throw DeltaError(.internal, "librsync could not start a \(kind.rawValue) job")
        }
        self.job = job
        self.kind = kind
    }

    deinit { rs_job_free(job) }

    /// Feeds `input` as the whole stream (eof set) and appends what the job writes to `output`.
    ///
    /// At most `limit` bytes are appended; the job is offered one byte more than that, so
    /// output past the bound is detected without ever being held in memory in full.
    /// - Returns: how many input bytes were left unread when the job finished.
    func run(
        input: UnsafeRawBufferPointer,
        into output: inout [UInt8],
        limit: Int,
        expectedOutput: Int = 0
    ) throws(DeltaError) -> Int {
        precondition(limit >= 0)
        let start = output.count
        output.reserveCapacity(start + min(expectedOutput, limit, 1 << 30))
        let scratch = UnsafeMutableBufferPointer<CChar>.allocate(
            capacity: limit < Self.scratchSize ? limit + 1 : Self.scratchSize)
        defer { scratch.deallocate() }

        var buffers = rs_buffers_t()
        buffers.next_in = UnsafeMutablePointer(
            mutating: input.baseAddress?.assumingMemoryBound(to: CChar.self))
        buffers.avail_in = input.count
        buffers.eof_in = 1

        var stalls = 0
        while true {
            let remaining = limit - (output.count - start)
            let room = remaining >= scratch.count ? scratch.count : remaining + 1
            let inBefore = buffers.avail_in
            buffers.next_out = scratch.baseAddress
            buffers.avail_out = room
            let result = rs_job_iter(job, &buffers)
            let written = room - buffers.avail_out
            buffers.next_out = nil
            UnsafeRawBufferPointer(start: scratch.baseAddress, count: written)
                .withMemoryRebound(to: UInt8.self) { output.append(contentsOf: $0) }

            if output.count - start > limit {
                throw DeltaError(.limitExceeded,
                                 "\(kind.rawValue) output exceeds the limit of \(limit) bytes")
            }
            switch result {
            case RS_DONE:
                return buffers.avail_in
            case RS_BLOCKED:
                // All input is present and eof is set, so a job that neither reads nor
                // writes would spin forever; librsync only catches that when both moved.
                stalls = (written == 0 && buffers.avail_in == inBefore) ? stalls + 1 : 0
                if stalls >= Self.maxStalls {
                    throw DeltaError(kind.code(for: RS_INTERNAL_ERROR),
                                     "\(kind.rawValue) job made no progress")
                }
            default:
                throw DeltaError(kind.code(for: result), "\(kind.rawValue) failed",
                                 cause: .init(result))
            }
        }
    }
}
