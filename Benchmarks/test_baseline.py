#!/usr/bin/env python3
"""Self-check of the Python baseline: the test vectors in Tests/Vectors/ and a small
end-to-end run. Standard library (unittest) plus what the baseline itself needs (PyYAML).

    python3 Benchmarks/test_baseline.py
"""

import base64
import csv
import glob
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SCRIPT = HERE / "pseudonymise_baseline.py"
VECTORS = REPO / "Tests" / "Vectors"

_spec = importlib.util.spec_from_file_location("pseudonymise_baseline", SCRIPT)
baseline = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(baseline)

TEST_KEY = bytes(range(32))


def normalise(kind, text, fmt):
    """A normalisation.json entry's output: None when invalid (or, for Soundex, no value)."""
    if kind == "soundex":  # input is already a component value
        return baseline.soundex(text)
    text = text.strip(" \t")  # every cell is trimmed first
    try:
        if kind == "date":
            return baseline.parse_date(text, [baseline.compile_date_format(fmt)])
        return baseline.IDENTIFIER_NORMALISERS[kind](text)
    except baseline.Invalid:
        return None


class VectorTests(unittest.TestCase):
    def test_key_id(self):
        self.assertEqual(baseline.key_id(TEST_KEY, 1), "lk1-64ec4365b89aaed7")

    def test_match_keys(self):
        with open(VECTORS / "match_keys.json", encoding="utf-8") as f:
            vectors = json.load(f)
        self.assertGreaterEqual(len(vectors), 10)
        for v in vectors:
            with self.subTest(name=v["name"], text=v["text"]):
                components = [tuple(c) for c in v["components"]]
                message = baseline.match_key_message(v["name"], v["version"], components)
                self.assertEqual(message.hex(), v["message_hex"])
                self.assertEqual(
                    baseline.match_key(TEST_KEY, v["version"], v["name"], components), v["text"])

    def test_normalisation(self):
        with open(VECTORS / "normalisation.json", encoding="utf-8") as f:
            rows = json.load(f)
        self.assertGreaterEqual(len(rows), 25)
        for row in rows:
            with self.subTest(kind=row["kind"], input=row["input"], format=row["format"]):
                self.assertEqual(normalise(row["kind"], row["input"], row["format"]),
                                 row["output"])

    def test_spec_examples(self):
        for text, expected in [("  zoë ", "ZOE"), ("Mr. John-Paul", "JOHN PAUL"),
                               ("O’Connor", "OCONNOR"), ("Łukasz", "LUKASZ"),
                               ("ﬁona", "FIONA"), ("Straße", "STRASSE"), ("Lord", "LORD")]:
            self.assertEqual(baseline.normalise_name(text.strip()), expected)
        self.assertEqual(baseline.normalise_postcode("sw1a1aa"), "SW1A 1AA")
        self.assertEqual(baseline.postcode_sector("SW1A 1AA"), "SW1A 1")
        self.assertEqual(baseline.postcode_district("SW1A 1AA"), "SW1A")
        self.assertEqual(baseline.postcode_area("SW1A 1AA"), "SW")
        self.assertEqual(baseline._band(5)(7), "5-9")
        self.assertEqual(baseline._band(5)(-3), "-5--1")

    def test_cell_rules(self):
        # max_length counts Unicode scalars of the trimmed cell as given (not graphemes)
        text = baseline.make_cell_parser({"name": "t", "type": "string", "max_length": "3"})
        self.assertEqual(text("zo\u00eb"), "zo\u00eb")
        with self.assertRaises(baseline.Invalid):
            text("zoe\u0308")
        integer = baseline.make_cell_parser({"name": "n", "type": "integer", "minimum": "-5"})
        self.assertEqual(integer("007"), 7)
        self.assertEqual(integer("-0"), 0)
        for bad in ("+1", "1.0", "-6", "1" * 19):
            with self.assertRaises(baseline.Invalid):
                integer(bad)
        decimal = baseline.make_cell_parser({"name": "d", "type": "decimal", "maximum": "10.5"})
        self.assertEqual(decimal("-0.50"), "-0.50")
        for bad in (".5", "5.", "1e3", "10.51"):
            with self.assertRaises(baseline.Invalid):
                decimal(bad)
        boolean = baseline.make_cell_parser({"name": "b", "type": "boolean"})
        self.assertEqual([boolean(v) for v in ("YES", "n", "True", "0")],
                         ["true", "false", "true", "false"])


SCHEMA = """\
format: concord-dataset/1
dataset: test_referrals
version: 1
title: Test referrals
csv:
  delimiter: ";"
  null_values: ["", "NULL"]
fields:
  - name: nhs
    type: nhs_number
    role: identifier
    identity: nhs_number
  - name: forename
    type: name
    role: identifier
    identity: forename
  - name: surname
    type: name
    role: identifier
    identity: surname
    required: true
  - name: dob
    type: date
    role: quasi_identifier
    identity: date_of_birth
    formats: [DD/MM/YYYY, D/M/YYYY]
    generalise: year
  - name: postcode
    type: postcode
    role: quasi_identifier
    identity: postcode
    generalise: postcode_district
  - name: age
    type: integer
    role: quasi_identifier
    generalise: band_5
    maximum: 25
  - name: outcome
    type: enum
    role: attribute
    values: [nfa, assessment]
  - name: notes
    type: string
    role: free_text
match_keys:
  - name: mk1
    components: [nhs_number]
  - name: mk3
    components: [surname, forename_initial, date_of_birth]
  - name: mk3_swapped
    hashed_as: mk3
    components: [surname, forename_initial, date_of_birth_swapped]
  - name: mk4
    components: [surname, forename_canonical, date_of_birth]
"""

# Columns in a different order from the schema, a BOM, CRLF, a blank line, a quoted
# newline in a free-text field, and four bad records (lines 6, 7, 9 and 10).
EXTRACT = (
    "\ufeffsurname;forename;nhs;dob;postcode;age;outcome;notes\r\n"
    "O’Brien;  Zoë-Anne ;943 476 5919;05/03/2014;cm1 1aa;007;nfa;\"two\r\nlines\"\r\n"
    "OBrien;Zoe;NULL;3/5/2014;;-3;assessment;\r\n"
    "\r\n"
    "Smith;Bill;;21/07/1980;b33 8th;12;nfa;x\r\n"
    "Smith;William;9434765918;31/04/1980;SW1A 1AC;26;maybe;x\r\n"
    "NULL;Ann;;01/01/2000;;1;nfa;x\r\n"
    "\"- 1\r\n2 -\";Ann;;01/01/2000;;1;nfa;x\r\n"
    "too;few\r\n"
    "Jones;Ann;;01/01/2000;;1;nfa;x;extra\r\n"
)


def vector_text(number):
    with open(VECTORS / "match_keys.json", encoding="utf-8") as f:
        return json.load(f)[number - 1]["text"]


class EndToEndTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        (self.dir / "schema.yaml").write_text(SCHEMA, encoding="utf-8")
        (self.dir / "nicknames.csv").write_text("variant,canonical\nBILL,WILLIAM\n",
                                                encoding="utf-8")
        (self.dir / "extract.csv").write_bytes(EXTRACT.encode("utf-8"))
        key = self.dir / "linkage.key"
        key.write_text("# test key\n\nformat: concord-linkage-key/1\nversion: 1\nkey: "
                       + base64.b64encode(TEST_KEY).decode() + "\n", encoding="utf-8")
        os.chmod(key, 0o600)

    def tearDown(self):
        self.tmp.cleanup()

    def run_baseline(self, *extra):
        d = self.dir
        return subprocess.run(
            [sys.executable, str(SCRIPT), "--schema", str(d / "schema.yaml"),
             "--key", str(d / "linkage.key"), "--in", str(d / "extract.csv"),
             "--out", str(d / "out.csv"), "--nicknames", str(d / "nicknames.csv"), *extra],
            capture_output=True, text=True)

    def test_pseudonymise(self):
        result = self.run_baseline("--rejects", str(self.dir / "rejects.csv"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr.strip(), "read 8 rows, wrote 3, rejected 5")

        out = (self.dir / "out.csv").read_bytes()
        self.assertNotIn(b"\r", out)
        rows = list(csv.reader(out.decode("utf-8").splitlines()))
        self.assertEqual(rows[0], ["mk1", "mk3", "mk3_swapped", "mk4", "dob", "postcode", "age",
                                   "outcome"])
        zoe, zoe_swapped, bill = rows[1:]
        self.assertEqual(len(rows), 4)
        self.assertEqual(zoe[0], vector_text(1))
        self.assertEqual(zoe[1], vector_text(3))
        self.assertEqual(zoe[2], vector_text(4))
        self.assertEqual(zoe[4:], ["2014", "CM1", "5-9", "nfa"])
        # the second record is the first with day and month exchanged: they link
        self.assertEqual(zoe_swapped[0], "")
        self.assertEqual(zoe_swapped[1], zoe[2])
        self.assertEqual(zoe_swapped[2], zoe[1])
        self.assertEqual(zoe_swapped[4:], ["2014", "", "-5--1", "assessment"])
        self.assertEqual(bill[2], "")  # day 21 > 12: no swapped value
        self.assertEqual(bill[3], baseline.match_key(
            TEST_KEY, 1, "mk4",
            [("surname", "SMITH"), ("forename_canonical", "WILLIAM"),
             ("date_of_birth", "1980-07-21")]))
        self.assertEqual(bill[3], vector_text(6))

        with open(self.dir / "rejects.csv", encoding="utf-8", newline="") as f:
            rejects = list(csv.reader(f))
        self.assertEqual(rejects, [
            ["line", "field", "reason"],
            ["7", "nhs", "NHS number check digit is wrong"],
            ["7", "dob", "not a real date in any of the formats"],
            ["7", "postcode", "not a valid UK postcode"],
            ["7", "age", "above maximum"],
            ["7", "outcome", "not one of the allowed values"],
            ["8", "surname", "required value is missing"],
            ["9", "surname", "name has no letters"],
            ["11", "*", "expected 8 cells, found 2"],
            ["12", "*", "expected 8 cells, found 9"],
        ])

    def test_rejects_never_contain_values(self):
        self.run_baseline("--rejects", str(self.dir / "rejects.csv"))
        text = (self.dir / "rejects.csv").read_text(encoding="utf-8")
        for value in ("9434765918", "31/04/1980", "SW1A", "maybe", "26", "- 1"):
            self.assertNotIn(value, text)

    def test_header_mismatch_writes_nothing(self):
        extract = self.dir / "extract.csv"
        extract.write_text("surname;forename;nhs;dob;postcode;age;outcome;notes;notes\n",
                           encoding="utf-8")
        result = self.run_baseline()
        self.assertEqual(result.returncode, 2)
        self.assertIn("notes", result.stderr)
        self.assertFalse((self.dir / "out.csv").exists())

    def test_default_rejects_file(self):
        result = self.run_baseline()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue((self.dir / "out.rejects.csv").exists())
        good = EXTRACT.split("\r\n")[:4]  # header and the two good records
        (self.dir / "extract.csv").write_text("\r\n".join(good) + "\r\n", encoding="utf-8")
        (self.dir / "out.rejects.csv").unlink()
        result = self.run_baseline()
        self.assertEqual(result.stderr.strip(), "read 2 rows, wrote 2, rejected 0")
        self.assertFalse((self.dir / "out.rejects.csv").exists())

    def test_malformed_csv_writes_nothing(self):
        with open(self.dir / "extract.csv", "a", encoding="utf-8", newline="") as f:
            f.write('Jones;"Ann"x;;01/01/2000;;1;nfa;x\r\n')
        result = self.run_baseline("--rejects", str(self.dir / "rejects.csv"))
        self.assertEqual(result.returncode, 2)
        self.assertIn("extract.csv:13: malformed CSV", result.stderr)
        self.assertEqual(sorted(p.name for p in self.dir.iterdir()),
                         ["extract.csv", "linkage.key", "nicknames.csv", "schema.yaml"])

    def test_key_readable_by_others_is_refused(self):
        os.chmod(self.dir / "linkage.key", 0o640)
        result = self.run_baseline()
        self.assertEqual(result.returncode, 2)
        self.assertFalse((self.dir / "out.csv").exists())


class RepositoryFilesTests(unittest.TestCase):
    """The real nickname table and dataset schemas, once they exist, load here too."""

    @unittest.skipUnless(baseline.DEFAULT_NICKNAMES.exists(), "no Schemas/nicknames.csv yet")
    def test_nicknames(self):
        table = baseline.load_nicknames(baseline.DEFAULT_NICKNAMES)
        self.assertEqual(table.get("BILL"), "WILLIAM")  # vector 6 assumes it

    def test_dataset_schemas(self):
        for path in sorted(glob.glob(str(REPO / "Schemas" / "datasets" / "*.yaml"))):
            with self.subTest(schema=Path(path).name):
                schema = baseline.load_schema(path)
                baseline.Pseudonymiser(schema, TEST_KEY, 1, baseline.DEFAULT_NICKNAMES)


if __name__ == "__main__":
    unittest.main()
