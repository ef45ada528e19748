#!/usr/bin/env python3
"""No silent string cut in src/ (docs/design.md, "Strings and buffers").

Refuses the copies that cut a string without telling anyone:
snprintf(dst, cap, "%s", src) and strncpy.  Copies go through str_copy /
STR_COPY / STR_SET / STR_COPY_KNOWN / str_copy_cut (src/common/str.h),
whose callers decide what a string that does not fit means.  Exit 1 and
one line per offence when any is found."""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else
                    pathlib.Path(__file__).resolve().parents[2]) / "src"
banned = [
    (re.compile(r'\bsnprintf\s*\(\s*[^;]*?,\s*"%s"\s*,\s*[^;,]*?\)\s*;', re.S),
     'snprintf(d, cap, "%s", s) cuts silently: use str_copy/STR_COPY/STR_SET'),
    (re.compile(r'\bstrncpy\s*\('), "strncpy cuts silently: use str_copy/STR_COPY"),
]
bad = 0
files = sorted(root.rglob("*.[ch]"))
for path in files:
    text = path.read_text(encoding="utf-8", errors="replace")
    for rx, why in banned:
        for m in rx.finditer(text):
            # the header that names the pattern in its comment
            line_start = text.rfind("\n", 0, m.start()) + 1
            if text[line_start:m.start()].lstrip().startswith("*"):
                continue
            line = text.count("\n", 0, m.start()) + 1
            print(f"{path.relative_to(root.parent)}:{line}: {why}")
            bad += 1
if not files:
    print("no sources found under", root)
    sys.exit(2)
print(f"{len(files)} files checked, {bad} silent copies")
sys.exit(1 if bad else 0)
