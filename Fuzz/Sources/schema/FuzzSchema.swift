import ConcordCore

/// The dataset schema loader on any text: it must load or throw `InvalidDocumentError`, never
/// crash or hang.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSchema(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    _ = try? DatasetSchema(yaml: text, file: "fuzz.yaml")
    return 0
}
