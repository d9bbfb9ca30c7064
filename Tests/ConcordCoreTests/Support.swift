import ConcordCore
import Foundation

/// The repository's root, for tests that read shipped files (schemas, vectors).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func repositoryFile(_ path: String) throws -> String {
    try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
}

func shippedSchema(_ dataset: String) throws -> DatasetSchema {
    let path = "Schemas/datasets/\(dataset).yaml"
    return try DatasetSchema(yaml: repositoryFile(path), file: path)
}

/// The key of the spec's test vectors: bytes 00..1f, version 1.
let vectorKey = try! LinkageKey(version: 1, secret: Array(0..<32))
