#!/usr/bin/env python3
"""Validates one JSON document against a JSON Schema (or one schema inside an OpenAPI document).

usage: validate.py SCHEMA_FILE DOCUMENT_FILE [JSON_POINTER]

JSON_POINTER names the schema inside SCHEMA_FILE (for example
/components/schemas/SendEvent in an OpenAPI document); without it the whole file is the schema.
Prints one line per violation and exits 1 when there is any, 0 when the document is valid,
2 when the files cannot be read.
"""
import json
import sys

import jsonschema
from jsonschema import validators


def main() -> int:
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(sys.argv[1], encoding="utf-8") as handle:
            root = json.load(handle)
        with open(sys.argv[2], encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, ValueError) as error:
        print(f"cannot read input: {error}", file=sys.stderr)
        return 2
    schema = root
    if len(sys.argv) == 4:
        # A schema inside a larger document: keep the root reachable so that its $refs resolve.
        schema = {"$ref": "#" + sys.argv[3], **{k: v for k, v in root.items() if k in ("components", "definitions", "paths")}}
    cls = validators.validator_for(root, default=jsonschema.Draft7Validator)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    for error in errors:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        print(f"{where}: {error.message}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
