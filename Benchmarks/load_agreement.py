"""The load test's agreements: for each of N agencies (load-agency-01 ...), a copy of
Agreements/school-readiness.v1.yaml with the trust that sends school_attendance replaced by that
agency, under the id load-test-NN (an agreement lists each dataset under one provider only).
Usage: load_agreement.py N OUT_DIR"""
import copy
import sys

import yaml

count, out = int(sys.argv[1]), sys.argv[2]
with open("Agreements/school-readiness.v1.yaml", encoding="utf-8") as f:
    template = yaml.safe_load(f)
for n in range(1, count + 1):
    doc = copy.deepcopy(template)
    agency = f"load-agency-{n:02d}"
    doc["id"], doc["title"] = f"load-test-{n:02d}", f"Load test: attendance from {agency}"
    parties = doc["parties"]
    for provider in parties["providers"]:
        if provider["agency"] == "colne-estuary-trust":
            provider["agency"], provider["name"] = agency, f"Load test agency {n:02d}"
    for signatory in parties["signatories"]:
        if signatory["party"] == "colne-estuary-trust":
            signatory["party"] = agency
    with open(f"{out}/load-test-{n:02d}.v1.yaml", "w", encoding="utf-8") as f:
        yaml.safe_dump(doc, f, sort_keys=False, allow_unicode=True)
