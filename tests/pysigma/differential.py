#!/usr/bin/env python3
r"""Differential test: wormtrace's Sigma engine against pySigma's SQLite backend.

Each rule is converted to SQL by pysigma-backend-sqlite. A corpus generated from the rules
(corpus.py) is parsed by `wormtrace parse` into taxonomy fields and loaded into an SQLite
table; each rule's SQL selects the records it matches. `wormtrace scan --all-hits` with the
same rules gives wormtrace's matches. For every rule both engines accept, the two sets of
(path, line) must be equal.

Two SQL conversions are compared:
- strict: pySigma as it comes;
- documented: with wormtrace's one documented field rule applied as a pySigma
  transformation: a `cs-uri-query` value also holds when it matches the whole request
  target (`stem?query`), because SigmaHQ rules put path-plus-query patterns there.
  and wormtrace's regex rule: a `\xHH` above `\x7F` in a regex is the raw byte HH (as in
  PCRE on bytes), where Python's `re` reads the character U+00HH; the documented SQL asks for
  the byte as Python sees an undecodable byte (U+DCHH, surrogate escape).
A rule whose sets differ under strict but agree under documented is explained by those rules.
Any other difference fails the test.

Unfielded keywords, which the SQLite backend cannot convert, are compared by mapping them
to a `raw` column that holds the whole line (wormtrace's meaning of a keyword).
"""

import argparse
import json
import pathlib
import re
import sqlite3
import subprocess
import sys
import uuid

from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.conditions import ConditionAND, ConditionOR
from sigma.exceptions import SigmaError
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations.base import DetectionItemTransformation
from sigma.rule import SigmaDetection
from sigma.types import SigmaNumber, SigmaRegularExpression, SigmaString, SpecialChars

import corpus

NUMERIC = {"sc-status", "sc-bytes", "cs-bytes", "time-taken", "s-port"}
FULL_URI = "full-uri"

# wormtrace's formats: the logsource products and service each one answers to. Load
# balancer, CDN, proxy and JSON formats (not listed) answer to every product.
FORMAT_PRODUCTS = {
    "iis-w3c": ["iis"], "iis-native": ["iis"], "ncsa-common": ["apache", "nginx"],
    "ncsa-combined": ["apache", "nginx"], "apache-error": ["apache"], "text": [],
    "request-lines": [],
}
FORMAT_SERVICE = {"apache-error": "error", "text": None}


class UnboundToRaw(DetectionItemTransformation):
    """Keywords are found anywhere in the line (full-text search): bind them to the `raw`
    column as `contains` (wildcards at both ends)."""

    def apply_detection_item(self, detection_item):
        if detection_item.field is not None:
            return None
        detection_item.field = corpus.RAW
        detection_item.value = [anywhere(v) for v in detection_item.value]
        return detection_item


def anywhere(value):
    if isinstance(value, SigmaNumber):
        value = SigmaString(str(value.number))
    if not isinstance(value, SigmaString):
        return value
    if not value.startswith(SpecialChars.WILDCARD_MULTI):
        value = SpecialChars.WILDCARD_MULTI + value
    if not value.endswith(SpecialChars.WILDCARD_MULTI):
        value = value + SpecialChars.WILDCARD_MULTI
    return value


class QueryAlsoFullUri(DetectionItemTransformation):
    """wormtrace's cs-uri-query rule: each value may match the query or `stem?query`."""

    def apply_detection_item(self, detection_item):
        if detection_item.field != "cs-uri-query":
            return None

        def on(field, values):
            return detection_item.__class__(
                field=field, modifiers=detection_item.modifiers, value=values,
                value_linking=ConditionOR, negated=detection_item.negated,
                auto_modifiers=False,
            )

        def either(values):
            return SigmaDetection(
                [on("cs-uri-query", values), on(FULL_URI, values)], item_linking=ConditionOR
            )

        values = detection_item.value
        if detection_item.value_linking is ConditionAND and len(values) > 1:
            return SigmaDetection([either([v]) for v in values], item_linking=ConditionAND)
        return either(values)


class HighBytesAreBytes(DetectionItemTransformation):
    r"""wormtrace's regex rule: `\xHH` above `\x7F` is a raw byte, not the character U+00HH."""

    HIGH = re.compile(r"(?<!\\)((?:\\\\)*)\\x([89a-fA-F][0-9a-fA-F])")

    def apply_detection_item(self, detection_item):
        regexes = [v for v in detection_item.value if isinstance(v, SigmaRegularExpression)]
        if not regexes:
            return None
        for v in regexes:
            # Mutated in place, so that the value keeps its flags (`|re|i`).
            v.regexp = SigmaString(self.HIGH.sub(r"\1\\udc\2", str(v.regexp)))
        return detection_item


def pipeline(*transformations):
    return ProcessingPipeline(
        items=[
            ProcessingItem(transformation=t(), identifier=t.__name__) for t in transformations
        ]
    )


def to_sql(text, *transformations):
    """The rule's SQL, or raises SigmaError."""
    backend = sqliteBackend(processing_pipeline=pipeline(*transformations))
    queries = backend.convert(SigmaCollection.from_yaml(text))
    if len(queries) != 1:
        raise SigmaError(f"{len(queries)} queries for one rule")
    return queries[0]


def convert(path):
    """Parses and converts one rule file: a dict describing it, with its SQL or why not."""
    text = path.read_text(encoding="utf-8")
    entry = {"path": str(path), "file": path.name}
    try:
        rule = SigmaCollection.from_yaml(text).rules[0]
    except (SigmaError, IndexError) as e:
        entry["rejected"] = f"pySigma cannot parse it: {e}"
        return entry, None
    any_text = re.search(r"^any-text:\s*true\s*$", text, re.MULTILINE) is not None
    entry.update(id=str(rule.id), title=rule.title, logsource=(rule.logsource, any_text))
    try:
        entry["strict"] = to_sql(text)
        entry["documented"] = to_sql(text, QueryAlsoFullUri, HighBytesAreBytes)
        entry["tier"] = "as-is"
    except SigmaError as e:
        try:
            entry["strict"] = to_sql(text, UnboundToRaw)
            entry["documented"] = to_sql(
                text, UnboundToRaw, QueryAlsoFullUri, HighBytesAreBytes
            )
            entry["tier"] = "keywords-as-raw"
        except SigmaError:
            entry["rejected"] = f"pysigma-backend-sqlite cannot convert it: {e}"
    return entry, rule


def covers(source, fmt):
    """Mirror of wormtrace's LogSource::covers (documented in the README)."""
    logsource, any_text = source
    if fmt == "text":
        return any_text
    products = FORMAT_PRODUCTS.get(fmt, [])

    def product_ok(p):
        return not products or p in products

    product_matches = logsource.product is None or product_ok(logsource.product)
    service = logsource.service
    if service is None:
        service_matches = True
    elif service in ("access", "error"):
        fmt_service = FORMAT_SERVICE.get(fmt, "access")
        service_matches = fmt_service is None or fmt_service == service
    else:
        service_matches = product_ok(service)
    return product_matches and service_matches


def run(cmd):
    result = subprocess.run(cmd, capture_output=True, check=False)
    if result.returncode not in (0, 1):
        sys.exit(f"{' '.join(map(str, cmd))} failed ({result.returncode}):\n"
                 f"{result.stderr.decode(errors='replace')}")
    return result.stdout.decode("utf-8")


def load_records(wormtrace, inputs):
    """`wormtrace parse` of the inputs, as a SQLite table `logs`."""
    db = sqlite3.connect(":memory:")
    db.create_function("REGEXP", 2, regexp, deterministic=True)
    columns = ["path TEXT", "line INTEGER", "format TEXT", f'"{corpus.RAW}" TEXT COLLATE NOCASE',
               f'"{FULL_URI}" TEXT COLLATE NOCASE']
    columns += [f'"{f}" {"NUMERIC" if f in NUMERIC else "TEXT"} COLLATE NOCASE'
                for f in corpus.TAXONOMY]
    db.execute(f"CREATE TABLE logs ({', '.join(columns)})")
    names = ["path", "line", "format", corpus.RAW, FULL_URI] + corpus.TAXONOMY
    marks = ", ".join("?" for _ in names)
    quoted = ", ".join(f'"{n}"' for n in names)
    rows = 0
    for line in run([wormtrace, "parse", *inputs]).splitlines():
        r = json.loads(line)
        fields = r["fields"]
        values = [r["path"], r["line"], r["format"], r["raw"], full_uri(fields)]
        values += [fields.get(f) for f in corpus.TAXONOMY]
        db.execute(f"INSERT INTO logs ({quoted}) VALUES ({marks})", values)
        rows += 1
    return db, rows


def full_uri(fields):
    """Mirror of Record::full_uri: stem, and `?query` when there is one."""
    stem, query = fields.get("cs-uri-stem"), fields.get("cs-uri-query")
    if query is None:
        return stem
    return (stem or "") + "?" + query


def regexp(pattern, value):
    if value is None:
        return False
    return re.search(pattern, str(value)) is not None


def sql_matches(db, sql, logsource):
    while True:
        try:
            rows = db.execute(f"SELECT path, line, format FROM ({sql})").fetchall()
            return {(p, n) for p, n, f in rows if covers(logsource, f)}
        except sqlite3.OperationalError as e:
            missing = re.fullmatch(r"no such column: (.+)", str(e))
            if not missing:
                raise
            # A field outside the taxonomy: wormtrace never sets it, so it is always NULL.
            db.execute(f'ALTER TABLE logs ADD COLUMN "{missing[1]}" TEXT COLLATE NOCASE')


def wormtrace_matches(wormtrace, rule_dirs, inputs):
    """(rule id) -> set of (path, line) from one scan with every rule loaded."""
    cmd = [wormtrace, "scan", "--no-builtin", "--all-hits", "--repeats", "0", "--format", "jsonl", "-q", "-j", "2"]
    for d in rule_dirs:
        cmd += ["--rules", d]
    hits = {}
    for line in run(cmd + inputs).splitlines():
        r = json.loads(line)
        # Host findings (from the sample volumes) are not Sigma rule hits.
        if r.get("type") == "finding" and r.get("evidence_kind") == "log":
            hits.setdefault(r["rule_id"], set()).add((r["path"], r["line"]))
    return hits


def wormtrace_loaded(wormtrace, rule_dirs):
    cmd = [wormtrace, "rules", "list", "--no-builtin"]
    for d in rule_dirs:
        cmd += ["--rules", d]
    uuid_re = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
    return set(uuid_re.findall(run(cmd)))


def compare(entry, db, hits):
    ours = hits.get(entry["id"], set())
    strict = sql_matches(db, entry["strict"], entry["logsource"])
    documented = sql_matches(db, entry["documented"], entry["logsource"])
    entry.update(wormtrace=len(ours), sqlite=len(strict), sqlite_documented=len(documented))
    if ours == strict:
        entry["outcome"] = "agree"
    elif ours == documented:
        entry["outcome"] = "agree under the documented rules"
        entry["explained"] = len(ours ^ strict)
    else:
        entry["outcome"] = "DISAGREE"
        entry["only_wormtrace"] = sorted(ours - documented)[:5]
        entry["only_sqlite"] = sorted(documented - ours)[:5]


def report_markdown(entries, figures):
    lines = ["# Differential test: wormtrace vs pySigma SQLite backend", ""]
    lines += [f"- {k}: {v}" for k, v in figures.items()]
    lines += ["", "| rule | tier | wormtrace | sqlite | sqlite (documented) | outcome |",
              "|---|---|---|---|---|---|"]
    for e in entries:
        if "outcome" in e:
            lines.append(f"| {e['file']} | {e['tier']} | {e['wormtrace']} | {e['sqlite']} | "
                         f"{e['sqlite_documented']} | {e['outcome']} |")
        else:
            lines.append(f"| {e['file']} | - | - | - | - | {e.get('rejected', 'not compared')} |")
    return "\n".join(lines) + "\n"


def main():
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--wormtrace", required=True)
    args.add_argument("--rules", action="append", required=True, help="rule folder (repeat)")
    args.add_argument("--work", required=True, type=pathlib.Path)
    args.add_argument("--extra-input", action="append", default=[])
    args.add_argument("--report", type=pathlib.Path)
    opts = args.parse_args()

    files = sorted(p for d in opts.rules for p in pathlib.Path(d).rglob("*.yml"))
    # Correlation files (the built-in spreading correlation over network connections) are
    # compared by correlations.py and spreading.py; this compares web-server records.
    files = [p for p in files
             if not re.search(r"^correlation:", p.read_text(encoding="utf-8"), re.MULTILINE)]
    converted = [convert(p) for p in files]
    entries = [e for e, _ in converted]
    rules = [r for _, r in converted if r is not None]
    ids = [e["id"] for e in entries if "id" in e]
    if len(ids) != len(set(ids)):
        sys.exit("rule ids are not unique; matches could not be told apart")

    records = corpus.write_corpus(rules, opts.work / "corpus")
    inputs = [str(opts.work / "corpus")] + opts.extra_input
    db, rows = load_records(opts.wormtrace, inputs)
    loaded = wormtrace_loaded(opts.wormtrace, opts.rules)
    hits = wormtrace_matches(opts.wormtrace, opts.rules, inputs)
    for e in entries:
        if "strict" not in e:
            continue
        if e["id"] not in loaded:
            e["rejected"] = "wormtrace does not load it"
            continue
        compare(e, db, hits)

    compared = [e for e in entries if "outcome" in e]
    figures = {
        "rule files": len(entries),
        "loaded by wormtrace": sum(1 for e in entries if e.get("id") in loaded),
        "converted by pySigma (as-is)": sum(1 for e in entries if e.get("tier") == "as-is"),
        "converted with keywords as raw": sum(
            1 for e in entries if e.get("tier") == "keywords-as-raw"),
        "compared": len(compared),
        "agree": sum(1 for e in compared if e["outcome"] == "agree"),
        "agree under the documented rules": sum(
            1 for e in compared if e["outcome"].startswith("agree under")),
        "disagree": sum(1 for e in compared if e["outcome"] == "DISAGREE"),
        "records": rows,
        "generated records": records,
        "matches (wormtrace, all rules)": sum(e["wormtrace"] for e in compared),
    }
    if opts.report:
        opts.report.write_text(report_markdown(entries, figures), encoding="utf-8")
    print(json.dumps(figures, indent=1))
    for e in compared:
        if e["outcome"] == "DISAGREE":
            print(f"DISAGREE {e['file']}: only wormtrace {e['only_wormtrace']}, "
                  f"only sqlite {e['only_sqlite']}\n  {e['documented']}")
    return 1 if figures["disagree"] else 0


if __name__ == "__main__":
    sys.exit(main())
