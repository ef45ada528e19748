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
"province".  With --all, every region and province at once:

    scripts/geo-extract.py --all SRC web/src/geo

writes province-RR.topo.json for each region, comuni-PPP.topo.json for
each province, and index.json: {"province": {PPP: RR}} (a province's
region, so the map loads only the file it needs)."""
import glob
import json
import os
import re
import sys


def remap_arcs(rings, used):
    if isinstance(rings, int):
        i = rings if rings >= 0 else ~rings
        j = used.setdefault(i, len(used))
        return j if rings >= 0 else ~j
    return [remap_arcs(r, used) for r in rings]


def cut(topo, code):
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
        if "arcs" not in g:       # an empty geometry in the source: nothing to draw
            print(f"geo-extract: {p.get(name)} ({p.get(key)}) has no geometry in the source",
                  file=sys.stderr)
            continue
        geoms.append({"type": g["type"], "arcs": remap_arcs(g["arcs"], used),
                      "properties": {"name": p[name], key: p[key]}})
    arcs = [None] * len(used)
    for old, new in used.items():
        arcs[new] = topo["arcs"][old]
    return {"type": "Topology", "transform": topo["transform"], "arcs": arcs,
            "objects": {"province" if provinces else "comuni": {"type": "GeometryCollection", "geometries": geoms}}}


def write(path, out):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


def main(src, code):
    topo = json.load(open(src, encoding="utf-8"))
    json.dump(cut(topo, code), sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


def main_all(src, dst):
    italy = json.load(open(os.path.join(src, "limits_IT_provinces.topo.json"), encoding="utf-8"))
    layer = next(iter(italy["objects"].values()))
    index = {}
    for g in layer["geometries"]:
        p = g["properties"]
        index[p["prov_istat_code"]] = p["reg_istat_code"]
    for reg in sorted(set(index.values())):
        write(os.path.join(dst, f"province-{reg}.topo.json"), cut(italy, reg))
    seen = set()
    for path in sorted(glob.glob(os.path.join(src, "limits_R_*_municipalities.topo.json"))):
        topo = json.load(open(path, encoding="utf-8"))
        provs = {g["properties"]["prov_istat_code"]
                 for g in next(iter(topo["objects"].values()))["geometries"]}
        for prov in sorted(provs):
            write(os.path.join(dst, f"comuni-{prov}.topo.json"), cut(topo, prov))
            seen.add(prov)
    missing = sorted(set(index) - seen)
    if missing:
        sys.exit(f"geo-extract: provinces without municipalities: {missing}")
    write(os.path.join(dst, "index.json"), {"province": dict(sorted(index.items()))})


if __name__ == "__main__":
    if sys.argv[1] == "--all":
        main_all(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1], sys.argv[2])
