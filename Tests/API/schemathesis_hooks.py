"""Loaded by scripts/api-test.sh (SCHEMATHESIS_HOOKS): the upload protocol's bodies are raw bytes
under media types of its own (docs/openapi.yaml), sent as schemathesis sends octet streams."""
import schemathesis

schemathesis.serializer.alias("application/vnd.concord.envelope-prefix", "application/octet-stream")
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
