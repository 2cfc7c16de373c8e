"""Test corpus for the differential test, generated from the rules themselves.

For every rule, each detection gives log records whose fields hold a value that the
detection names (wildcards filled in, regular expressions given a matching string), and
the detections are also merged, so conditions such as `selection and not filter` are
exercised both ways. Every record is then varied (upper case, padded) so near misses are
in the corpus too. Each record is written as an IIS W3C line, an NCSA combined line and an
Apache error line; which of those a rule may see is the logsource's business.
"""

import fnmatch
import random
import re
import sre_constants as sc
import sre_parse

from sigma.rule import SigmaDetection
from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SpecialChars,
)
from sigma.conditions import ConditionAND, ConditionOR

W3C_FIELDS = [
    ("date", "date"), ("time", "time"), ("c-ip", "c-ip"), ("cs-username", "cs-username"),
    ("s-sitename", "s-sitename"), ("s-computername", "s-computername"), ("s-ip", "s-ip"),
    ("s-port", "s-port"), ("cs-method", "cs-method"), ("cs-uri-stem", "cs-uri-stem"),
    ("cs-uri-query", "cs-uri-query"), ("sc-status", "sc-status"), ("sc-bytes", "sc-bytes"),
    ("cs-bytes", "cs-bytes"), ("time-taken", "time-taken"), ("cs-version", "cs-version"),
    ("cs-host", "cs(Host)"), ("cs-user-agent", "cs(User-Agent)"), ("cs-cookie", "cs(Cookie)"),
    ("cs-referer", "cs(Referer)"),
]
TAXONOMY = [name for name, _ in W3C_FIELDS]

DEFAULTS = {
    "date": "2001-08-01", "time": "05:13:17", "c-ip": "192.0.2.10", "s-sitename": "W3SVC1",
    "s-computername": "WEB1", "s-ip": "192.0.2.80", "s-port": "80", "cs-method": "GET",
    "cs-uri-stem": "/index.htm", "sc-status": "200", "sc-bytes": "512", "cs-bytes": "230",
    "time-taken": "15", "cs-version": "HTTP/1.1", "cs-host": "www.example.com",
    "cs-user-agent": "Mozilla/4.0 (compatible; MSIE 5.5)",
}

# Fields often logged as `-`; filled in by one variant so that `field: null` filters are
# tested both ways.
OPTIONAL = {
    "cs-uri-query": "id=1", "cs-username": "alice", "cs-cookie": "session=1",
    "cs-referer": "http://www.example.com/",
}

RAW = "raw"  # pseudo-field: unfielded keywords


def string_instance(value, rng):
    """A concrete string matched by a SigmaString (wildcards filled in)."""
    out = []
    for part in value.s:
        if isinstance(part, str):
            out.append(part)
        elif part == SpecialChars.WILDCARD_MULTI:
            out.append(rng.choice(["", "zq", "/a/"]))
        elif part == SpecialChars.WILDCARD_SINGLE:
            out.append("q")
    return "".join(out)


def regex_instance(pattern):
    """A string the regular expression matches (best effort; the pattern itself if not)."""
    try:
        return _emit(sre_parse.parse(pattern))
    except Exception:  # noqa: BLE001 - any parser surprise falls back to the text
        return pattern


def _emit(tree):
    out = []
    for op, av in tree:
        if op is sc.LITERAL:
            out.append(chr(av))
        elif op is sc.NOT_LITERAL:
            out.append("a" if av != ord("a") else "b")
        elif op is sc.ANY:
            out.append("a")
        elif op is sc.IN:
            out.append(_class_member(av))
        elif op in (sc.MAX_REPEAT, sc.MIN_REPEAT, getattr(sc, "POSSESSIVE_REPEAT", None)):
            low, _high, sub = av
            out.append(_emit(sub) * max(low, 1))
        elif op is sc.SUBPATTERN:
            out.append(_emit(av[-1]))
        elif op is sc.BRANCH:
            out.append(_emit(av[1][0]))
    return "".join(out)


def _class_member(items):
    if items and items[0][0] is sc.NEGATE:
        return "~"
    for op, av in items:
        if op is sc.LITERAL:
            return chr(av)
        if op is sc.RANGE:
            return chr(av[0])
        if op is sc.CATEGORY:
            return {sc.CATEGORY_DIGIT: "1", sc.CATEGORY_SPACE: " "}.get(av, "a")
    return "a"


def value_instance(value, rng):
    """A concrete field value for one Sigma value: a string, None (unset) or ("ref", field)."""
    if isinstance(value, SigmaString):
        return string_instance(value, rng)
    if isinstance(value, SigmaRegularExpression):
        return regex_instance(value.regexp.original)
    if isinstance(value, SigmaExpansion):
        return value_instance(rng.choice(value.values), rng)
    if isinstance(value, SigmaCIDRExpression):
        net = value.network
        return str(net[1] if net.num_addresses > 1 else net.network_address)
    if isinstance(value, SigmaCompareExpression):
        n = value.number.number
        step = {CompareOperators.LT: -1, CompareOperators.GT: 1}.get(value.op, 0)
        return str(n + step)
    if isinstance(value, SigmaNumber):
        return str(value.number)
    if isinstance(value, SigmaBool):
        return "true" if value.boolean else "false"
    if isinstance(value, SigmaNull):
        return None
    if isinstance(value, SigmaExists):
        return "present" if value.exists else None
    if isinstance(value, SigmaFieldReference):
        return ("ref", value.field)
    return "x"


def item_instance(item, pick, rng):
    """(field, value) for a detection item, using its `pick`-th value (all of them for `all`)."""
    field = item.field or RAW
    values = item.value or []
    if not values:
        return field, None
    if item.value_linking is ConditionAND and len(values) > 1:
        parts = [value_instance(v, rng) for v in values]
        return field, "".join(p for p in parts if isinstance(p, str))
    return field, value_instance(values[pick % len(values)], rng)


def detection_records(detection, rng):
    """Records that satisfy one detection (one per listed value, round robin)."""
    children = detection.detection_items
    if detection.item_linking is ConditionOR and len(children) > 1:
        return [r for child in children for r in child_records(child, rng)]
    options = [child_records(child, rng) for child in children]
    width = min(max([len(o) for o in options] + [1]), 40)
    records = []
    for pick in range(width):
        record = {}
        for option in options:
            for field, value in (option[pick % len(option)] if option else {}).items():
                add_value(record, field, list(value) if field == RAW else value)
        records.append(record)
    return records


def child_records(child, rng):
    """The alternatives one child of a detection offers, each a record."""
    if isinstance(child, SigmaDetection):
        return detection_records(child, rng)
    out = []
    for pick in range(max(1, min(len(child.value or []), 40))):
        if child.value_linking is ConditionAND and pick > 0:
            break
        record = {}
        add_value(record, *item_instance(child, pick, rng))
        out.append(record)
    return out


def add_value(record, field, value):
    if field == RAW:
        values = value if isinstance(value, list) else [value]
        record.setdefault(RAW, []).extend(v for v in values if isinstance(v, str))
    elif field in record and isinstance(record[field], str) and isinstance(value, str):
        record[field] += value
    else:
        record[field] = value


def rule_records(rule, rng):
    """Records for one rule: per detection, merged, merged without filters, and variants."""
    per_detection = {
        name: detection_records(det, rng) for name, det in rule.detection.detections.items()
    }
    records = [r for rs in per_detection.values() for r in rs]
    firsts = [(name, rs[0]) for name, rs in per_detection.items() if rs]
    records.append(merge(r for _, r in firsts))
    negated = negated_names(rule)
    positive = merge(r for name, r in firsts if not negated(name))
    records += [positive, with_optional_fields(positive)]
    # Every detection but one, for conditions like `a and b and not c`.
    for left_out, _ in firsts:
        records.append(merge(r for name, r in firsts if name != left_out))
    records += [t for t in map(query_as_target, records) if t]
    variants = []
    for r in records:
        variants.append(transform(r, str.upper))
        variants.append(transform(r, lambda v: "x" + v + "x"))
    return records + variants


def query_as_target(record):
    """The record with its cs-uri-query value sent as a whole request target (stem and
    query), as SigmaHQ rules that put paths in cs-uri-query expect to see it."""
    value = record.get("cs-uri-query")
    if not isinstance(value, str):
        return None
    target = value if value.startswith("/") else "/" + value
    stem, _, query = target.partition("?")
    out = dict(record)
    out["cs-uri-stem"] = stem
    out["cs-uri-query"] = query or None
    return out


def negated_names(rule):
    """A test for detection names that the condition negates (`not x`, `not 1 of x*`)."""
    patterns = [
        m.group(1)
        for condition in rule.detection.condition
        for m in re.finditer(r"\bnot\s+(?:(?:1|all)\s+of\s+)?([\w*]+)", condition)
    ]
    return lambda name: any(fnmatch.fnmatchcase(name, p) for p in patterns)


def with_optional_fields(record):
    """The record with the fields that logs often leave empty filled in."""
    out = dict(record)
    for field, value in OPTIONAL.items():
        if out.get(field) is None:
            out[field] = value
    return out


def merge(records):
    out = {}
    for r in records:
        for field, value in r.items():
            add_value(out, field, list(value) if field == RAW else value)
    return out


def transform(record, fn):
    out = {}
    for field, value in record.items():
        if field == RAW:
            out[RAW] = [fn(v) for v in value]
        elif isinstance(value, str):
            out[field] = fn(value)
        else:
            out[field] = value
    return out


def resolve(record):
    """Field values for writing: defaults, keywords folded in, field references resolved."""
    fields = dict(DEFAULTS)
    for field, value in record.items():
        if field in TAXONOMY:
            fields[field] = value
    for field, value in list(fields.items()):
        if isinstance(value, tuple):
            other = fields.get(value[1])
            fields[field] = other if isinstance(other, str) else "same"
            fields.setdefault(value[1], fields[field])
    keywords = "".join(record.get(RAW, []))
    if keywords:
        fields["cs-uri-query"] = (fields.get("cs-uri-query") or "") + keywords
    return fields, keywords


def w3c_header():
    names = " ".join(w3c for _, w3c in W3C_FIELDS)
    return (
        "#Software: Microsoft Internet Information Services 5.0\n#Version: 1.0\n"
        f"#Date: 2001-08-01 00:00:00\n#Fields: {names}\n"
    )


def w3c_line(fields):
    def cell(name):
        value = fields.get(name)
        if not value:
            return "-"
        return "".join("+" if c.isspace() else c for c in value)

    return " ".join(cell(name) for name in TAXONOMY) + "\n"


def ncsa_line(fields):
    def q(name, default="-"):
        value = fields.get(name) or default
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")

    target = q("cs-uri-stem", "/")
    if fields.get("cs-uri-query"):
        target += "?" + q("cs-uri-query")
    return (
        f'{q("c-ip")} - {q("cs-username")} [01/Aug/2001:05:13:17 +0000] '
        f'"{q("cs-method")} {target} {q("cs-version")}" {q("sc-status")} {q("sc-bytes")} '
        f'"{q("cs-referer")}" "{q("cs-user-agent")}"\n'
    )


def error_line(fields, keywords):
    message = " ".join(
        v for k, v in fields.items() if isinstance(v, str) and k in ("cs-uri-stem", "cs-uri-query")
    )
    text = (message + " " + keywords).replace("\n", " ")
    return f"[Wed Aug 01 05:13:17 2001] [error] [client {fields.get('c-ip') or '-'}] {text}\n"


def write_corpus(rules, directory, seed=2001):
    """Writes access.log (W3C), access_ncsa.log and error.log under `directory`.
    Returns the number of records generated."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    records = [r for rule in rules for r in rule_records(rule, rng)]
    resolved = [resolve(r) for r in records]
    with open(directory / "access.log", "w", encoding="utf-8") as w3c:
        w3c.write(w3c_header())
        w3c.writelines(w3c_line(f) for f, _ in resolved)
    with open(directory / "access_ncsa.log", "w", encoding="utf-8") as ncsa:
        ncsa.writelines(ncsa_line(f) for f, _ in resolved)
    with open(directory / "error.log", "w", encoding="utf-8") as err:
        err.writelines(error_line(f, k) for f, k in resolved)
    return len(records)
