import ConcordCore


/// Linkage keys, private keys and the hub's person-id secret on disk, read and written as secrets (`SecretFile`).
public enum KeyFiles {
    public static func readLinkageKey(_ path: String) throws(SecretFileError) -> LinkageKey {
        let text = try SecretFile.read(path)
        do { return try LinkageKey(fileContents: text) } catch { throw .invalid(path, "\(error)") }
    }

    public static func create(_ key: LinkageKey, at path: String) throws(SecretFileError) {
        try SecretFile.create(key.fileContents, at: path)
    }

    public static func readPrivateKey(_ path: String) throws(SecretFileError) -> PrivateKeyDocument {
        let text = try SecretFile.read(path)
        do { return try PrivateKeyDocument(fileContents: text) } catch { throw .invalid(path, "\(error)") }
    }

    public static func create(_ key: PrivateKeyDocument, at path: String) throws(SecretFileError) {
        try SecretFile.create(key.fileContents, at: path)
    }

    public static func readPersonIDSecret(_ path: String) throws(SecretFileError) -> PersonIDSecret {
        let text = try SecretFile.read(path)
        do { return try PersonIDSecret(fileContents: text) } catch { throw .invalid(path, "\(error)") }
    }

    public static func create(_ secret: PersonIDSecret, at path: String) throws(SecretFileError) {
        try SecretFile.create(secret.fileContents, at: path)
    }
}
