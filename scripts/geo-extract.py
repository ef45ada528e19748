#!/usr/bin/env python3
"""Cuts the municipalities of one province out of the region's TopoJSON of
the shared boundaries (ISTAT via openpolis, CC-BY 4.0):

    scripts/geo-extract.py SRC/limits_R_8_municipalities.topo.json 036 \
        > web/src/geo/comuni-036.topo.json

Keeps the province's geometries with two properties (name, com_istat_code)
and only the arcs they use, renumbered; the quantization is the source's."""
import json
import sys


def remap_arcs(rings, used):
    if isinstance(rings, int):
        i = rings if rings >= 0 else ~rings
        j = used.setdefault(i, len(used))
        return j if rings >= 0 else ~j
    return [remap_arcs(r, used) for r in rings]


def main(src, province):
    topo = json.load(open(src, encoding="utf-8"))
    layer = next(iter(topo["objects"].values()))
    used, geoms = {}, []
    for g in layer["geometries"]:
        p = g.get("properties", {})
        if p.get("prov_istat_code") != province:
            continue
        geoms.append({"type": g["type"], "arcs": remap_arcs(g["arcs"], used),
                      "properties": {"name": p["name"], "com_istat_code": p["com_istat_code"]}})
    arcs = [None] * len(used)
    for old, new in used.items():
        arcs[new] = topo["arcs"][old]
    out = {"type": "Topology", "transform": topo["transform"], "arcs": arcs,
           "objects": {"comuni": {"type": "GeometryCollection", "geometries": geoms}}}
    json.dump(out, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
