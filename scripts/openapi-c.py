#!/usr/bin/env python3
"""Turns the API contract (docs/openapi.yaml) into a C source file holding it
as compact JSON, so that the server serves the contract it was built with
(GET /api/v1/openapi.json) without reading any file at run time.

    scripts/openapi-c.py docs/openapi.yaml OUT.c

Refuses (exit 1) a contract that is not a mapping with `openapi` and
`paths`, and keys YAML would silently turn into something else (booleans,
numbers): every mapping key must be a string as written."""
import json
import sys

import yaml


class StrictLoader(yaml.SafeLoader):
    pass


def _mapping(loader, node):
    out = {}
    for k, v in node.value:
        if k.tag != "tag:yaml.org,2002:str" and not isinstance(loader.construct_object(k), str):
            raise SystemExit(f"{sys.argv[1]}:{k.start_mark.line + 1}: key {k.value!r} is not a "
                             "string (quote it)")
        key = loader.construct_object(k)
        if key in out:
            raise SystemExit(f"{sys.argv[1]}:{k.start_mark.line + 1}: duplicate key {key!r}")
        out[key] = loader.construct_object(v, deep=True)
    return out


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def main():
    src, out = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f:
        doc = yaml.load(f, Loader=StrictLoader)
    if not isinstance(doc, dict) or "openapi" not in doc or "paths" not in doc:
        raise SystemExit(f"{src}: not an OpenAPI document")
    data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    lines = []
    for i in range(0, len(data), 16):
        lines.append("\t" + ", ".join(str(b) for b in data[i:i + 16]) + ",")
    with open(out, "w", encoding="ascii") as f:
        f.write("/* Generated from docs/openapi.yaml by scripts/openapi-c.py: do not edit. */\n")
        f.write('#include "api/openapi.h"\n\n')
        f.write("const unsigned char openapi_json[] = {\n")
        f.write("\n".join(lines))
        f.write("\n};\n")
        f.write(f"const size_t openapi_json_len = {len(data)};\n")


if __name__ == "__main__":
    main()
