import ConcordCore
import Foundation

/// The agreement loader on any text, against the shipped dataset schemas: it must load or throw
/// `InvalidDocumentError`, never crash or hang.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAgreement(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    _ = try? Agreement(yaml: text, file: "fuzz.yaml", catalogue: catalogue)
    return 0
}

/// `Schemas/datasets` of the repository this file is in.
private let catalogue: SchemaCatalogue = {
    let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Schemas/datasets")
    let files = try! FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") }.sorted()
    return SchemaCatalogue(files.map { try! DatasetSchema(yaml: String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8), file: $0) })
}()
