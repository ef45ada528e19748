#!/usr/bin/env python3
"""The map's boundaries (web/src/geo, cut by scripts/geo-extract.py --all)
against the register's reference data (data/comuni.csv, ANPR):

- index.json gives every province of an active municipality, with the
  region of that municipality, and nothing else;
- each region has province-RR.topo.json and each province
  comuni-PPP.topo.json, valid TopoJSON (arcs of [x, y] integer deltas, a
  transform, one GeometryCollection whose arcs exist), holding exactly the
  provinces of that region / municipalities of that province, by ISTAT code;
- every active municipality is in its province's file, but for the three
  the source lacks (SOURCE.md: merged in 2023, or no geometry), and every
  name agrees with the register's once case, accents and punctuation are
  set aside, but for the few the source spells otherwise (listed when they
  grow: SOURCE.md gives the count).

    tests/lint/check_geo.py REPO"""
import csv
import json
import os
import re
import sys
import unicodedata

# In data/comuni.csv, not in the source (SOURCE.md says why).
ABSENT = {"005122", "012144", "096034"}
# Names the source spells otherwise (renamed after June 2023, the second
# language's letters lost in the source, "Pont-Canavese"...): SOURCE.md.
NAMES_OTHERWISE_MAX = 120


def norm(name):
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", s.lower())


def arcs_of(x, out):
    if isinstance(x, int):
        out.append(x if x >= 0 else ~x)
    else:
        for y in x:
            arcs_of(y, out)


def topo(path, layer, errors):
    try:
        t = json.load(open(path, encoding="utf-8"))
    except (OSError, ValueError) as e:
        errors.append(f"{path}: {e}")
        return []
    if t.get("type") != "Topology" or set(t.get("transform", {})) != {"scale", "translate"}:
        errors.append(f"{path}: not a quantized TopoJSON Topology")
        return []
    for a in t["arcs"]:
        if not a or not all(isinstance(p, list) and len(p) == 2 and
                            all(isinstance(v, int) for v in p) for p in a):
            errors.append(f"{path}: an arc is not a list of integer positions")
            return []
    col = t.get("objects", {}).get(layer)
    if not col or col.get("type") != "GeometryCollection":
        errors.append(f"{path}: no GeometryCollection {layer}")
        return []
    for g in col["geometries"]:
        used = []
        arcs_of(g.get("arcs", []), used)
        if g.get("type") not in ("Polygon", "MultiPolygon") or not used or max(used) >= len(t["arcs"]):
            errors.append(f"{path}: {g.get('properties')}: not a polygon of the file's arcs")
    return [g["properties"] for g in col["geometries"]]


def main(repo):
    geo = os.path.join(repo, "web", "src", "geo")
    errors = []
    comuni = {}
    with open(os.path.join(repo, "data", "comuni.csv"), encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["stato"] == "A":
                comuni[r["codice_istat"]] = r
    region = {r["codice_provincia_istat"]: r["codice_regione"] for r in comuni.values()}
    index = json.load(open(os.path.join(geo, "index.json"), encoding="utf-8"))["province"]
    if index != region:
        errors.append(f"index.json's provinces are not the register's: "
                      f"{sorted(set(index.items()) ^ set(region.items()))}")
    otherwise = []
    for reg in sorted(set(region.values())):
        props = topo(os.path.join(geo, f"province-{reg}.topo.json"), "province", errors)
        got = sorted(p["prov_istat_code"] for p in props)
        want = sorted(p for p, r in region.items() if r == reg)
        if got != want:
            errors.append(f"province-{reg}: provinces {got}, the register's {want}")
        if any(not p.get("name") for p in props):
            errors.append(f"province-{reg}: a province without a name")
    for prov in sorted(region):
        props = topo(os.path.join(geo, f"comuni-{prov}.topo.json"), "comuni", errors)
        got = {p["com_istat_code"]: p["name"] for p in props}
        want = {c for c, r in comuni.items() if r["codice_provincia_istat"] == prov}
        if set(got) - want:
            errors.append(f"comuni-{prov}: not active municipalities of the province: "
                          f"{sorted(set(got) - want)}")
        if want - set(got) - ABSENT:
            errors.append(f"comuni-{prov}: missing {sorted(want - set(got) - ABSENT)}")
        for c, name in got.items():
            if c in comuni and norm(name) != norm(comuni[c]["denominazione"]):
                otherwise.append(f"{c} {name!r} / {comuni[c]['denominazione']!r}")
    present = {f for f in os.listdir(geo) if f.endswith(".topo.json")}
    expected = ({f"province-{r}.topo.json" for r in region.values()} |
                {f"comuni-{p}.topo.json" for p in region})
    if present != expected:
        errors.append(f"files not of the register's provinces/regions: {sorted(present ^ expected)}")
    if len(otherwise) > NAMES_OTHERWISE_MAX:
        errors.append(f"{len(otherwise)} names differ from the register's (at most "
                      f"{NAMES_OTHERWISE_MAX}): " + "; ".join(otherwise))
    for e in errors:
        print("FAIL:", e)
    print(f"{len(region)} provinces, {len(set(region.values()))} regions, "
          f"{len(comuni) - len(ABSENT)} municipalities on the map; "
          f"{len(otherwise)} names spelled otherwise by the source")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
