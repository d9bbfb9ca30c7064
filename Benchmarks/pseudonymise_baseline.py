#!/usr/bin/env python3
"""Second, independent implementation of `concord pseudonymise` in plain Python.

It follows docs/pseudonyms.md (normalisation, match keys, linkage key files) and
docs/dataset-schema.md (schemas, CSV extracts, output) and nothing else. It is the
speed baseline for the Swift tool and the generator of the test vectors in
Tests/Vectors/.

    python3 Benchmarks/pseudonymise_baseline.py --schema S.yaml --key K \
        --in extract.csv --out out.csv [--rejects rejects.csv] [--nicknames FILE]

Standard library and PyYAML only.
"""

import argparse
import base64
import csv
import hashlib
import hmac
import os
import re
import stat
import sys
import tempfile
import unicodedata
from decimal import Decimal
from pathlib import Path

import yaml

SCHEME_TAG = "concord-match-key-v1"
KEY_ID_TAG = b"concord-linkage-key-id-v1"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_NICKNAMES = REPO_ROOT / "Schemas" / "nicknames.csv"


class Invalid(Exception):
    """A cell that fails its rule. The message is the rejects reason: never the value."""


class InputError(Exception):
    """A problem with the schema, key, nickname table or CSV header: exit 2."""


# --------------------------------------------------------------------------------------
# Normalisation (docs/pseudonyms.md section 1)
# --------------------------------------------------------------------------------------

_TRIM = " \t"
_DIGITS = frozenset("0123456789")
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")

_NAME_APOSTROPHES = frozenset("'`\u2018\u2019\u02bc\u02bb")
_NAME_REPLACEMENTS = {
    "Æ": "AE", "Œ": "OE", "Ø": "O", "Ł": "L", "Đ": "D",
    "Ð": "D", "Þ": "TH", "ẞ": "SS", "Ħ": "H", "Ŧ": "T",
}
_NAME_TITLES = frozenset(
    "MR MRS MS MISS MX DR PROF SIR DAME LADY LORD REV REVD MASTER".split()
)


def ascii_upper(text):
    return text.translate(_ASCII_UPPER)


def is_ascii_digits(text):
    return text.isascii() and text.isdigit()


def normalise_name(text):
    """Personal name -> upper-case words joined by one space."""
    words = []
    word = []
    for ch in unicodedata.normalize("NFKD", text).upper():
        if ch in _NAME_APOSTROPHES:  # before the letter test: U+02BC is a letter (Lm)
            continue
        replacement = _NAME_REPLACEMENTS.get(ch)
        if replacement is not None:
            word.append(replacement)
            continue
        category = unicodedata.category(ch)[0]
        if category == "L":
            word.append(ch)
        elif category == "M":
            continue
        elif word:
            words.append("".join(word))
            word = []
    if word:
        words.append("".join(word))
    start = 0
    while len(words) - start > 1 and words[start] in _NAME_TITLES:
        start += 1
    if start == len(words):
        raise Invalid("name has no letters")
    return " ".join(words[start:])


_INWARD_LETTERS = frozenset("ABDEFGHJLNPQRSTUWXYZ")  # A-Z without C I K M O V
_OUTWARD_SHAPES = frozenset(["A9", "A99", "AA9", "AA99", "A9A", "AA9A"])


def _shape(text):
    out = []
    for ch in text:
        if "A" <= ch <= "Z":
            out.append("A")
        elif "0" <= ch <= "9":
            out.append("9")
        else:
            return None
    return "".join(out)


def normalise_postcode(text):
    """UK postcode -> `OUTWARD INWARD`."""
    compact = ascii_upper(text.replace(" ", "").replace("\t", ""))
    if compact == "GIR0AA":
        return "GIR 0AA"
    outward, inward = compact[:-3], compact[-3:]
    if (
        len(compact) < 5
        or _shape(outward) not in _OUTWARD_SHAPES
        or not ("0" <= inward[0] <= "9")
        or inward[1] not in _INWARD_LETTERS
        or inward[2] not in _INWARD_LETTERS
    ):
        raise Invalid("not a valid UK postcode")
    return outward + " " + inward


def postcode_sector(unit):
    return unit[:-2]


def postcode_district(unit):
    return unit[:-4]


def postcode_area(unit):
    i = 0
    while i < len(unit) and "A" <= unit[i] <= "Z":
        i += 1
    return unit[:i]


def normalise_nhs_number(text):
    digits = text.replace(" ", "").replace("-", "")
    if len(digits) != 10 or not is_ascii_digits(digits):
        raise Invalid("NHS number is not 10 digits")
    total = sum(int(digits[i]) * (10 - i) for i in range(9))
    check = 11 - total % 11
    if check == 11:
        check = 0
    if check == 10 or check != int(digits[9]):
        raise Invalid("NHS number check digit is wrong")
    if digits == digits[0] * 10:
        raise Invalid("NHS number is a placeholder (ten identical digits)")
    return digits


_SEX_CODES = {}
for _code, _spellings in (
    ("M", ("M", "MALE", "1")),
    ("F", ("F", "FEMALE", "2")),
    ("X", ("X", "I", "9", "INDETERMINATE")),
    ("U", ("U", "0", "UNKNOWN", "NOT KNOWN", "NOT STATED")),
):
    for _spelling in _spellings:
        _SEX_CODES[_spelling] = _code
_SPACE_RUNS = re.compile(" {2,}")


def normalise_sex(text):
    code = _SEX_CODES.get(ascii_upper(_SPACE_RUNS.sub(" ", text.strip(_TRIM))))
    if code is None:
        raise Invalid("not a recognised sex code")
    return code


_REFERENCE_DROP = str.maketrans("", "", " -/.")
_REFERENCE_OK = re.compile("[A-Z0-9]+")


def normalise_reference(text):
    value = unicodedata.normalize("NFKC", text).upper().translate(_REFERENCE_DROP)
    if not _REFERENCE_OK.fullmatch(value):
        raise Invalid("reference must be letters A-Z and digits only")
    return value


# Dates ---------------------------------------------------------------------------------

_MONTH_ABBREVIATIONS = {
    name: number
    for number, name in enumerate(
        "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), start=1
    )
}
_DATE_TOKENS = ("YYYY", "MMM", "MM", "M", "DD", "D")  # longest first


def compile_date_format(fmt):
    """`DD/MM/YYYY` -> [("DD", None), ("lit", "/"), ...]; tokens matched longest first."""
    tokens = []
    i = 0
    while i < len(fmt):
        for token in _DATE_TOKENS:
            if fmt.startswith(token, i):
                tokens.append((token, None))
                i += len(token)
                break
        else:
            if tokens and tokens[-1][0] == "lit":
                tokens[-1] = ("lit", tokens[-1][1] + fmt[i])
            else:
                tokens.append(("lit", fmt[i]))
            i += 1
    return tokens


def _days_in_month(year, month):
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _match_date(tokens, text):
    """(year, month, day) if `text` has the format's shape, else None."""
    year = month = day = None
    i = 0
    n = len(text)
    for kind, literal in tokens:
        if kind == "lit":
            if not text.startswith(literal, i):
                return None
            i += len(literal)
        elif kind == "MMM":
            month = _MONTH_ABBREVIATIONS.get(ascii_upper(text[i:i + 3]))
            if month is None:
                return None
            i += 3
        else:
            width = 4 if kind == "YYYY" else 2
            if kind in ("M", "D"):  # one or two digits, greedy, no backtracking
                width = 2 if i + 1 < n and text[i + 1] in _DIGITS else 1
            digits = text[i:i + width]
            if len(digits) != width or not is_ascii_digits(digits):
                return None
            i += width
            if kind == "YYYY":
                year = int(digits)
            elif kind[0] == "M":
                month = int(digits)
            else:
                day = int(digits)
    if i != n or year is None or month is None or day is None:
        return None
    return year, month, day


def parse_date(text, compiled_formats):
    """-> `YYYY-MM-DD`. Formats are tried in order; the first under which the text is a real date wins."""
    for tokens in compiled_formats:
        ymd = _match_date(tokens, text)
        if ymd is not None:
            year, month, day = ymd
            if (1000 <= year <= 9999 and 1 <= month <= 12
                    and 1 <= day <= _days_in_month(year, month)):
                return f"{year:04d}-{month:02d}-{day:02d}"
    raise Invalid("not a real date in any of the formats")


# Soundex -------------------------------------------------------------------------------

_SOUNDEX_CODES = {}
for _letters, _digit in (("BFPV", "1"), ("CGJKQSXZ", "2"), ("DT", "3"),
                         ("L", "4"), ("MN", "5"), ("R", "6")):
    for _letter in _letters:
        _SOUNDEX_CODES[_letter] = _digit


def soundex(text):
    """US National Archives Soundex of the A-Z letters of `text`; None if it has none."""
    letters = [ch for ch in text if "A" <= ch <= "Z"]
    if not letters:
        return None
    out = [letters[0]]
    previous = _SOUNDEX_CODES.get(letters[0])
    for ch in letters[1:]:
        if ch in "HW":
            continue
        code = _SOUNDEX_CODES.get(ch)  # None for A E I O U Y: writes nothing, separates
        if code is not None and code != previous:
            out.append(code)
        previous = code
    return ("".join(out) + "000")[:4]


# --------------------------------------------------------------------------------------
# Match keys (sections 2 and 3) and linkage keys (section 4)
# --------------------------------------------------------------------------------------

def lp(text):
    data = text.encode("utf-8")
    return len(data).to_bytes(4, "big") + data


def match_key_message(name, version, components):
    parts = [lp(SCHEME_TAG), lp(name), lp(str(version))]
    for label, value in components:
        parts.append(lp(label))
        parts.append(lp(value))
    return b"".join(parts)


def match_key_text(version, mac):
    return f"k{version}:" + base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def match_key(key, version, name, components):
    mac = hmac.new(key, match_key_message(name, version, components), hashlib.sha256)
    return match_key_text(version, mac.digest())


def key_id(key, version):
    digest = hashlib.sha256(KEY_ID_TAG + b"\x00" + key).hexdigest()
    return f"lk{version}-{digest[:16]}"


def read_linkage_key(path):
    """-> (version, 32-byte key). Refuses files with any group/other permission bit."""
    try:
        mode = os.stat(path).st_mode
        if stat.S_IMODE(mode) & 0o077:
            raise InputError(f"{path}: linkage key file must not be accessible by group or "
                             f"others (mode {stat.S_IMODE(mode):04o}); chmod 600 it")
        with open(path, encoding="utf-8", newline="") as f:
            lines = f.read().split("\n")
    except OSError as e:
        raise InputError(f"{path}: {e.strerror}") from None
    entries = {}
    for number, line in enumerate(lines, start=1):
        stripped = line.rstrip("\r").strip(_TRIM)
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, value = stripped.partition(":")
        name = name.strip(_TRIM)
        if not sep or name not in ("format", "version", "key"):
            raise InputError(f"{path}:{number}: expected `format:`, `version:` or `key:`")
        if name in entries:
            raise InputError(f"{path}:{number}: `{name}` appears twice")
        entries[name] = value.strip(_TRIM)
    for name in ("format", "version", "key"):
        if name not in entries:
            raise InputError(f"{path}: missing `{name}:`")
    if entries["format"] != "concord-linkage-key/1":
        raise InputError(f"{path}: unsupported format (want concord-linkage-key/1)")
    version_text = entries["version"]
    if not (is_ascii_digits(version_text) and version_text[0] != "0"
            and int(version_text) <= 65535):
        raise InputError(f"{path}: version must be an integer from 1 to 65535")
    try:
        key = base64.b64decode(entries["key"], validate=True)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise InputError(f"{path}: key must be standard base64 of 32 bytes")
    return int(version_text), key


def load_nicknames(path):
    """variant -> canonical, from a `variant,canonical` CSV of normalised forename words."""
    table = {}
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != ["variant", "canonical"]:
            raise InputError(f"{path}: header must be `variant,canonical`")
        for row in reader:
            if not row:
                continue
            if len(row) != 2:
                raise InputError(f"{path}:{reader.line_num}: expected 2 cells")
            variant, canonical = row
            for word in row:
                if not word or " " in word or _normalise_or_none(word) != word:
                    raise InputError(f"{path}:{reader.line_num}: not a normalised forename word")
            if variant in table:
                raise InputError(f"{path}:{reader.line_num}: variant {variant} appears twice")
            table[variant] = canonical
    return table


def _normalise_or_none(text):
    try:
        return normalise_name(text)
    except Invalid:
        return None


def _sorted_scalars(text):
    return "".join(sorted(text))


def iso_year(iso):
    return iso[:4]


def iso_year_month(iso):
    return iso[:7]


def _swapped(iso):
    year, month, day = iso[:4], iso[5:7], iso[8:10]
    if int(day) > 12 or day == month:
        return None
    return f"{year}-{day}-{month}"


# component -> (identity it derives from, hash label or None for its own name,
#               value from the identity's normalised value; None means no value)
COMPONENTS = {
    "surname": ("surname", None, lambda v: v.replace(" ", "")),
    "surname_initial": ("surname", None, lambda v: v[0]),
    "surname_alphaname": ("surname", None, lambda v: _sorted_scalars(v.replace(" ", ""))),
    "surname_soundex": ("surname", None, soundex),
    "forename": ("forename", None, lambda v: v.split(" ", 1)[0]),
    "forename_initial": ("forename", None, lambda v: v[0]),
    "forename_alphaname": ("forename", None, lambda v: _sorted_scalars(v.split(" ", 1)[0])),
    "forename_soundex": ("forename", None, lambda v: soundex(v.split(" ", 1)[0])),
    # forename_canonical needs the nickname table: see component_spec
    "date_of_birth": ("date_of_birth", None, lambda v: v),
    "date_of_birth_swapped": ("date_of_birth", "date_of_birth", _swapped),
    "birth_year": ("date_of_birth", None, iso_year),
    "birth_year_month": ("date_of_birth", None, iso_year_month),
    "birth_month": ("date_of_birth", None, lambda v: v[5:7]),
    "birth_day": ("date_of_birth", None, lambda v: v[8:10]),
    "postcode": ("postcode", None, lambda v: v),
    "postcode_sector": ("postcode", None, postcode_sector),
    "postcode_district": ("postcode", None, postcode_district),
    "postcode_area": ("postcode", None, postcode_area),
    "nhs_number": ("nhs_number", None, lambda v: v),
    "sex": ("sex", None, lambda v: None if v == "U" else v),
}


def component_spec(component, nicknames):
    """-> (identity, hash label, value function) for a component name."""
    if component == "forename_canonical":
        def canonical(v):
            word = v.split(" ", 1)[0]
            return nicknames.get(word, word)
        return "forename", "forename_canonical", canonical
    if component in COMPONENTS:
        identity, label, derive = COMPONENTS[component]
        return identity, label or component, derive
    # a `reference` field's identity is its own component
    return component, component, lambda v: v


# --------------------------------------------------------------------------------------
# Schema and per-field cell handling
# --------------------------------------------------------------------------------------

def _yaml_bool(value):
    return str(value).strip().lower() in ("true", "yes", "on", "y")


def load_schema(path):
    """The schema as plain data. Loaded with BaseLoader: every scalar is its text as written."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            schema = yaml.load(f, Loader=yaml.BaseLoader)
    except (OSError, yaml.YAMLError) as e:
        raise InputError(f"{path}: {e}") from None
    if not isinstance(schema, dict) or schema.get("format") != "concord-dataset/1":
        raise InputError(f"{path}: not a concord-dataset/1 schema")
    if not isinstance(schema.get("fields"), list) or not schema["fields"]:
        raise InputError(f"{path}: `fields` must be a non-empty list")
    return schema


# identifier types with no per-field options: trimmed cell -> normalised value
IDENTIFIER_NORMALISERS = {
    "name": normalise_name,
    "postcode": normalise_postcode,
    "nhs_number": normalise_nhs_number,
    "sex": normalise_sex,
    "reference": normalise_reference,
}


def make_cell_parser(field):
    """-> function(trimmed non-null text) -> normalised value, raising Invalid."""
    kind = field["type"]
    max_length = int(field["max_length"]) if "max_length" in field else None
    minimum = field.get("minimum")
    maximum = field.get("maximum")

    def bounded(value, key):
        if minimum is not None and key < minimum:
            raise Invalid("below minimum")
        if maximum is not None and key > maximum:
            raise Invalid("above maximum")
        return value

    if kind in ("string", "free_text"):
        def parse(text):
            return text
    elif kind == "integer":
        minimum = int(minimum) if minimum is not None else None
        maximum = int(maximum) if maximum is not None else None
        integer_shape = re.compile("-?[0-9]{1,18}")

        def parse(text):
            if not integer_shape.fullmatch(text):
                raise Invalid("not an integer")
            number = int(text)
            return bounded(number, number)
    elif kind == "decimal":
        minimum = Decimal(minimum) if minimum is not None else None
        maximum = Decimal(maximum) if maximum is not None else None
        decimal_shape = re.compile(r"-?[0-9]+(\.[0-9]+)?")

        def parse(text):
            if not decimal_shape.fullmatch(text):
                raise Invalid("not a decimal number")
            if minimum is None and maximum is None:
                return text
            return bounded(text, Decimal(text))
    elif kind == "date":
        formats = [compile_date_format(fmt) for fmt in field["formats"]]

        def parse(text):
            iso = parse_date(text, formats)
            return bounded(iso, iso)  # ISO dates compare as text
    elif kind == "boolean":
        booleans = {"true": "true", "yes": "true", "y": "true", "1": "true",
                    "false": "false", "no": "false", "n": "false", "0": "false"}

        def parse(text):
            value = booleans.get(text.lower() if text.isascii() else text)
            if value is None:
                raise Invalid("not a boolean")
            return value
    elif kind == "enum":
        allowed = frozenset(field["values"])

        def parse(text):
            if text not in allowed:
                raise Invalid("not one of the allowed values")
            return text
    elif kind in IDENTIFIER_NORMALISERS:
        parse = IDENTIFIER_NORMALISERS[kind]
    else:
        raise InputError(f"field {field['name']}: unknown type {kind!r}")
    if max_length is None:
        return parse

    def parse_bounded_length(text):  # Unicode scalars of the trimmed cell, as given
        if len(text) > max_length:
            raise Invalid("longer than max_length")
        return parse(text)
    return parse_bounded_length


def _band(width):
    def band(number):
        low = number // width * width
        return f"{low}-{low + width - 1}"
    return band


GENERALISERS = {
    "year": iso_year,
    "year_month": iso_year_month,
    "postcode_sector": postcode_sector,
    "postcode_district": postcode_district,
    "postcode_area": postcode_area,
}


def make_output(field):
    """-> function(normalised value) -> output text, for written fields; None if dropped."""
    role = field["role"]
    if role in ("identifier", "free_text"):
        return None
    if role == "quasi_identifier" and "generalise" in field:
        how = field["generalise"]
        if how in GENERALISERS:
            return GENERALISERS[how]
        if how.startswith("band_") and how[5:].isdigit() and int(how[5:]) >= 2:
            return _band(int(how[5:]))
        raise InputError(f"field {field['name']}: unknown generalise {how!r}")
    return str


class Pseudonymiser:
    def __init__(self, schema, key, version, nicknames_path):
        self.fields = schema["fields"]
        csv_options = schema.get("csv") or {}
        self.delimiter = csv_options.get("delimiter", ",")
        self.null_values = frozenset(csv_options.get("null_values", [""]))
        self.field_names = [f["name"] for f in self.fields]
        self.parsers = {f["name"]: make_cell_parser(f) for f in self.fields}
        self.required = {f["name"]: _yaml_bool(f.get("required", "false")) for f in self.fields}

        by_identity = {}
        for f in self.fields:
            if "identity" in f:
                by_identity[f["identity"]] = f["name"]

        keys = schema.get("match_keys") or []
        components_used = {c for k in keys for c in k["components"]}
        nicknames = {}
        if "forename_canonical" in components_used:
            try:
                nicknames = load_nicknames(nicknames_path)
            except OSError as e:
                raise InputError(f"{nicknames_path}: {e.strerror}") from None

        # Each distinct component is derived once per row and shared by the keys using it.
        self.components = []  # (field, label bytes, derive)
        component_index = {}
        self.match_keys = []  # (name, prefix bytes, [component index, ...])
        labels_by_name = {}
        for k in keys:
            hash_name = k.get("hashed_as", k["name"])
            indexes = []
            for component in k["components"]:
                identity, label, derive = component_spec(component, nicknames)
                if identity not in by_identity:
                    raise InputError(f"match key {k['name']}: component {component} needs a "
                                     f"field with identity {identity}")
                if component not in component_index:
                    component_index[component] = len(self.components)
                    self.components.append((by_identity[identity], lp(label), derive))
                indexes.append(component_index[component])
            labels = [self.components[i][1] for i in indexes]
            if hash_name != k["name"] and labels_by_name.get(hash_name) != labels:
                raise InputError(f"match key {k['name']}: hashed_as {hash_name} needs an earlier "
                                 f"key with the same hash labels")
            labels_by_name.setdefault(hash_name, labels)
            prefix = lp(SCHEME_TAG) + lp(hash_name) + lp(str(version))
            self.match_keys.append((k["name"], prefix, indexes))
        self.base_mac = hmac.new(key, digestmod="sha256")
        self.version = version

        self.outputs = []  # (field name, output function)
        for f in self.fields:
            write = make_output(f)
            if write is not None:
                self.outputs.append((f["name"], write))
        self.output_header = [k[0] for k in self.match_keys] + [o[0] for o in self.outputs]

    def check_header(self, header):
        """Raise InputError unless the header names each schema field exactly once."""
        expected = set(self.field_names)
        problems = []
        seen = set()
        for name in header:
            if name in seen:
                problems.append(f"column {name!r} appears more than once")
            seen.add(name)
        unexpected = [n for n in header if n not in expected]
        missing = [n for n in self.field_names if n not in seen]
        if unexpected:
            problems.append("unexpected columns: " + ", ".join(map(repr, unexpected)))
        if missing:
            problems.append("missing columns: " + ", ".join(map(repr, missing)))
        if problems:
            raise InputError("CSV header does not match the schema: " + "; ".join(problems))

    def process(self, header, row):
        """-> (output row, []) or (None, [(field, reason), ...])."""
        if len(row) != len(header):
            return None, [("*", f"expected {len(header)} cells, found {len(row)}")]
        values = {}
        problems = []
        null_values = self.null_values
        for name, cell in zip(header, row):
            text = cell.strip(_TRIM)
            if "\x00" in text:
                problems.append((name, "contains a NUL character"))
                continue
            if not text.isascii():
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:  # surrogateescape'd bytes
                    problems.append((name, "not valid UTF-8"))
                    continue
            if text == "" or text in null_values:
                if self.required[name]:
                    problems.append((name, "required value is missing"))
                continue
            try:
                values[name] = self.parsers[name](text)
            except Invalid as e:
                problems.append((name, str(e)))
        if problems:
            return None, problems

        # label + value bytes of each component, None when it has no value
        encoded = []
        for field, label, derive in self.components:
            value = values.get(field)
            if value is not None:
                value = derive(value)
            encoded.append(None if value is None else label + lp(value))

        out = []
        for _, prefix, indexes in self.match_keys:
            parts = [encoded[i] for i in indexes]
            if None in parts:
                out.append("")
                continue
            mac = self.base_mac.copy()
            mac.update(prefix + b"".join(parts))
            out.append(match_key_text(self.version, mac.digest()))
        for name, write in self.outputs:
            value = values.get(name)
            out.append("" if value is None else write(value))
        return out, []


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------

class AtomicOutput:
    """A file that appears at `path` complete (commit) or not at all (abandon)."""

    def __init__(self, path):
        self.path = path
        self.file = tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", newline="", delete=False,
            dir=os.path.dirname(os.path.abspath(path)), prefix=".concord-", suffix=".tmp")

    def commit(self):
        self.file.close()
        os.replace(self.file.name, self.path)

    def abandon(self):
        self.file.close()
        os.unlink(self.file.name)


def default_rejects_path(output_path):
    stem = output_path[:-4] if output_path.endswith(".csv") else output_path
    return stem + ".rejects.csv"


def run(args):
    schema = load_schema(args.schema)
    version, key = read_linkage_key(args.key)
    pseudonymiser = Pseudonymiser(schema, key, version, args.nicknames)
    csv.field_size_limit(2**31 - 1)
    try:
        source = open(args.input, encoding="utf-8-sig", errors="surrogateescape", newline="")
    except OSError as e:
        raise InputError(f"{args.input}: {e.strerror}") from None
    with source:
        reader = csv.reader(source, delimiter=pseudonymiser.delimiter, strict=True)
        try:
            header = next((record for record in reader if record), None)
        except csv.Error as e:
            raise InputError(f"{args.input}:{reader.line_num}: malformed CSV: {e}") from None
        if header is None:
            raise InputError(f"{args.input}: no header record")
        header = [name.strip(_TRIM) for name in header]
        pseudonymiser.check_header(header)

        # Outputs appear complete or not at all. Without --rejects, the rejects file is
        # <out>.rejects.csv and is only created when a row is rejected.
        outputs = [AtomicOutput(args.output)]
        try:
            read, written, rejected = pseudonymise_rows(args, pseudonymiser, reader, header,
                                                        outputs)
        except BaseException:
            for output in outputs:
                output.abandon()
            raise
        for output in outputs:
            output.commit()
    print(f"read {read} rows, wrote {written}, rejected {rejected}", file=sys.stderr)


def pseudonymise_rows(args, pseudonymiser, reader, header, outputs):
    """Writes the output and rejects; outputs[0] is the output, a rejects file is appended."""
    writer = csv.writer(outputs[0].file, lineterminator="\n")
    writer.writerow(pseudonymiser.output_header)
    rejects = None

    def open_rejects(path):
        outputs.append(AtomicOutput(path))
        rejects_writer = csv.writer(outputs[-1].file, lineterminator="\n")
        rejects_writer.writerow(["line", "field", "reason"])
        return rejects_writer

    if args.rejects:
        rejects = open_rejects(args.rejects)
    read = written = rejected = 0
    while True:
        line = reader.line_num + 1  # the physical line the next record starts on
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:  # a malformed file is refused whole, like the Swift tool
            raise InputError(f"{args.input}:{line}: malformed CSV: {e}") from None
        if not row:
            continue
        read += 1
        result, problems = pseudonymiser.process(header, row)
        if problems:
            rejected += 1
            if rejects is None:
                rejects = open_rejects(default_rejects_path(args.output))
            rejects.writerows([line, field, reason] for field, reason in problems)
        else:
            writer.writerow(result)
            written += 1
    return read, written, rejected


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Pseudonymise an extract (Python baseline of `concord pseudonymise`).")
    parser.add_argument("--schema", required=True, help="dataset schema (YAML)")
    parser.add_argument("--key", required=True, help="linkage key file")
    parser.add_argument("--in", dest="input", required=True, help="extract CSV")
    parser.add_argument("--out", dest="output", required=True, help="pseudonymised CSV")
    parser.add_argument("--rejects", help="rejects CSV (line,field,reason); default "
                        "OUT with .rejects.csv, created only if a row is rejected")
    parser.add_argument("--nicknames", default=str(DEFAULT_NICKNAMES),
                        help="nickname table (default: Schemas/nicknames.csv)")
    args = parser.parse_args(argv)
    try:
        run(args)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e.filename}: {e.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
