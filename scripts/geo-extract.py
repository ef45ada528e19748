#!/usr/bin/env python3
"""Cuts the municipalities of one province out of the region's TopoJSON of
the shared boundaries (ISTAT via openpolis, CC-BY 4.0), or the provinces
of one region out of Italy's:

    scripts/geo-extract.py SRC/limits_R_8_municipalities.topo.json 036 \
        > web/src/geo/comuni-036.topo.json
    scripts/geo-extract.py SRC/limits_IT_provinces.topo.json 08 \
        > web/src/geo/province-08.topo.json

Keeps the geometries asked for with two properties (name and
com_istat_code, or name and prov_istat_code) and only the arcs they use,
renumbered; the quantization is the source's.  The layer is "comuni" or
"province"."""
import json
import sys


def remap_arcs(rings, used):
    if isinstance(rings, int):
        i = rings if rings >= 0 else ~rings
        j = used.setdefault(i, len(used))
        return j if rings >= 0 else ~j
    return [remap_arcs(r, used) for r in rings]


def main(src, code):
    topo = json.load(open(src, encoding="utf-8"))
    layer = next(iter(topo["objects"].values()))
    # municipalities of a province, or provinces of a region
    provinces = "com_istat_code" not in layer["geometries"][0].get("properties", {})
    within, name, key = (("reg_istat_code", "prov_name", "prov_istat_code") if provinces
                         else ("prov_istat_code", "name", "com_istat_code"))
    used, geoms = {}, []
    for g in layer["geometries"]:
        p = g.get("properties", {})
        if p.get(within) != code:
            continue
        geoms.append({"type": g["type"], "arcs": remap_arcs(g["arcs"], used),
                      "properties": {"name": p[name], key: p[key]}})
    arcs = [None] * len(used)
    for old, new in used.items():
        arcs[new] = topo["arcs"][old]
    out = {"type": "Topology", "transform": topo["transform"], "arcs": arcs,
           "objects": {"province" if provinces else "comuni": {"type": "GeometryCollection", "geometries": geoms}}}
    json.dump(out, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
