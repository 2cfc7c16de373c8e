"""Validates a wormtrace STIX 2.1 bundle with the OASIS `stix2` library: a strict parse (no
custom properties or objects, required properties, id and timestamp forms), and each
indicator's pattern through `stix2-patterns`. Prints a JSON summary; exits 1 on any error."""

import json
import sys

import stix2
from stix2patterns.validator import run_validator


def main(path):
    text = open(path, encoding="utf-8").read()
    bundle = stix2.parse(text, allow_custom=False, version="2.1")
    errors = []
    indicators = [o for o in bundle.objects if o.type == "indicator"]
    for indicator in indicators:
        errors += [f"{indicator.id}: {e}" for e in run_validator(indicator.pattern, stix_version="2.1")]
        if indicator.valid_until is not None and indicator.valid_until <= indicator.valid_from:
            errors.append(f"{indicator.id}: valid_until is not after valid_from")
    summary = {
        "valid": not errors,
        "indicators": len(indicators),
        "errors": errors,
        "patterns": sorted(i.pattern for i in indicators),
        "labels": sorted({label for i in indicators for label in i.labels}),
        "indicator_types": sorted({t for i in indicators for t in i.indicator_types}),
    }
    print(json.dumps(summary))
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
