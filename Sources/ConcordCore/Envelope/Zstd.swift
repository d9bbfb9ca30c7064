import CZstd

/// Streaming zstd compression at level 1: on pseudonymised CSV it compresses about as well as
/// deflate at level 6 and six times faster than deflate at level 1 (measured; `docs/envelope.md`).
final class ZstdCompressor {
    private let context: OpaquePointer

    init(level: Int32 = 1) {
        context = ZSTD_createCCtx()
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Compresses `input`; with `end`, also closes the frame. Returns the compressed bytes produced.
    func compress(_ input: [UInt8], end: Bool) -> [UInt8] {
        var output: [UInt8] = []
        var block = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
        input.withUnsafeBytes { source in
            var inBuffer = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
            while true {
                let remaining = block.withUnsafeMutableBytes { destination in
                    var outBuffer = ZSTD_outBuffer(dst: destination.baseAddress, size: destination.count, pos: 0)
                    let result = ZSTD_compressStream2(context, &outBuffer, &inBuffer, end ? ZSTD_e_end : ZSTD_e_continue)
                    output.append(contentsOf: destination.prefix(outBuffer.pos))
                    return result
                }
                // Compression into memory cannot fail with valid parameters; an error here is a bug.
                precondition(ZSTD_isError(remaining) == 0, "zstd: \(String(cString: ZSTD_getErrorName(remaining)))")
                if end ? remaining == 0 : inBuffer.pos == inBuffer.size { break }
            }
        }
        return output
    }
}

/// Streaming zstd decompression that hands back output a block at a time, so that the caller can
/// stop a decompression bomb as soon as the output exceeds what it expects.
final class ZstdDecompressor {
    private let context: OpaquePointer
    /// Whether the last call ended exactly at the end of a frame.
    private(set) var atFrameEnd = true

    init() { context = ZSTD_createDCtx() }

    deinit { ZSTD_freeDCtx(context) }

    /// Decompresses `input`, calling `emit` with each block of output.
    func decompress(_ input: [UInt8], emit: ([UInt8]) throws(EnvelopeError) -> Void) throws(EnvelopeError) {
        var block = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())
        // withUnsafeBytes rethrows untyped errors; everything thrown inside is an EnvelopeError.
        do { try decompress(input, into: &block, emit: emit) } catch { throw error as! EnvelopeError }
    }

    private func decompress(_ input: [UInt8], into block: inout [UInt8], emit: ([UInt8]) throws(EnvelopeError) -> Void) throws {
        try input.withUnsafeBytes { source in
            var inBuffer = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
            while true {
                var produced = 0
                let result = block.withUnsafeMutableBytes { destination in
                    var outBuffer = ZSTD_outBuffer(dst: destination.baseAddress, size: destination.count, pos: 0)
                    let result = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
                    produced = outBuffer.pos
                    return result
                }
                guard ZSTD_isError(result) == 0 else {
                    throw EnvelopeError.payloadMismatch("the payload is not a valid zstd stream (\(String(cString: ZSTD_getErrorName(result))))")
                }
                atFrameEnd = result == 0
                if produced > 0 { try emit(Array(block.prefix(produced))) }
                // Done when all input is consumed and the output block was not filled (nothing left buffered).
                if inBuffer.pos == inBuffer.size && produced < block.count { break }
            }
        }
    }
}
