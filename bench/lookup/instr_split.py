#!/usr/bin/env python3
"""Reads a callgrind output file and prints the instructions (Ir) per answer,
in total and by area, from each function's own (exclusive) cost: the
library it lives in decides its area; visura's own code is split by the
source directory of the function.

usage: instr_split.py CALLGRIND_OUT ANSWERS [TOP] [BASE_OUT]
TOP: also list the TOP functions by own cost (default 0).
BASE_OUT: a run without the ANSWERS, subtracted function by function.
"""
import collections, re, sys

path, answers = sys.argv[1], int(sys.argv[2])
top = int(sys.argv[3]) if len(sys.argv) > 3 else 0
base = sys.argv[4] if len(sys.argv) > 4 else None

names = {"ob": {}, "fl": {}, "fn": {}}
alias = {"cob": "ob", "cfi": "fl", "cfl": "fl", "fi": "fl", "fe": "fl", "cfn": "fn"}


def name(kind, rest):
    """Resolves callgrind's name compression: '(id) name' defines, '(id)' uses."""
    table = names[alias.get(kind, kind)]
    m = re.match(r"\((\d+)\)(?: (.*))?$", rest)
    if not m:
        return rest
    if m.group(2) is not None:
        table[m.group(1)] = m.group(2)
    return table.get(m.group(1), "?")


def parse(path):
    global names
    names = {"ob": {}, "fl": {}, "fn": {}}
    own = collections.Counter()   # (ob, fl, fn) -> Ir
    ob = fl = fn = "?"
    skip_next = False
    total_line = None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                if skip_next:          # the inclusive cost of a call, not own cost
                    skip_next = False
                    continue
                parts = line.split()
                if len(parts) > 1:
                    own[(ob, fl, fn)] += int(parts[1])
                continue
            key, _, rest = line.partition("=")
            if key == "ob":
                ob = name("ob", rest)
            elif key == "fl":
                fl = name("fl", rest)
            elif key in ("fi", "fe"):
                name(key, rest)         # inlined code: counted with its function
            elif key == "fn":
                fn = name("fn", rest)
            elif key in ("cob", "cfi", "cfl", "cfn"):
                name(key, rest)
            elif key == "calls":
                skip_next = True
            elif line.startswith("totals:") or line.startswith("summary:"):
                total_line = int(line.split()[1])
    return own


own = parse(path)
if base:
    own.subtract(parse(base))

MALLOC = re.compile(r"^(malloc|free|calloc|realloc|cfree|_int_malloc|_int_free|_int_realloc|"
                    r"malloc_consolidate|unlink_chunk|tcache_\w+|__libc_\w*(malloc|free|calloc|realloc)\w*|"
                    r"sysmalloc|arena_\w+|posix_memalign|_mid_memalign|aligned_alloc|__?malloc_\w+|"
                    r"alloc_perturb|checked_request2size|_int_memalign)$")


def area(ob, fl, fn):
    o = ob.rsplit("/", 1)[-1]
    if re.match(r"lib(gnutls|nettle|hogweed|gmp|tasn1|p11-kit|idn2|unistring)", o):
        return "TLS (GnuTLS, nettle, gmp)"
    if o.startswith("libsodium"):
        return "signatures, hashes (libsodium)"
    if o.startswith("libmicrohttpd"):
        return "libmicrohttpd"
    if o.startswith("libsqlite3"):
        return "SQLite"
    if o.startswith("libpq"):
        return "PostgreSQL client (libpq)"
    if o.startswith(("libjansson", "libjose")):
        return "JSON (jansson)"
    if o.startswith("libc.so") or o.startswith("libc-"):
        return "malloc/free" if MALLOC.match(fn) else "libc other (memcpy, strings, syscalls)"
    if o.startswith("ld-linux"):
        return "dynamic loader"
    if o.startswith("libcrypto") or o.startswith("libssl"):
        return "OpenSSL (libcurl, libpq)"
    if o == "visura" or o.startswith("visura"):
        m = re.search(r"src/([a-z_]+)/", fl)
        d = m.group(1) if m else "?"
        if "json" in fl.rsplit("/", 1)[-1]:
            return "JSON (visura)"
        return f"visura src/{d}"
    if o.startswith("libz"):
        return "zlib"
    return "other: " + o


areas = collections.Counter()
for (ob, fl, fn), ir in own.items():
    areas[area(ob, fl, fn)] += ir
total = sum(own.values())
print(f"instructions per answer: {total / answers:,.0f}  ({total:,} over {answers} answers)")
for a, ir in areas.most_common():
    if ir / answers >= 500:
        print(f"  {ir / answers:>12,.0f}  {100 * ir / total:5.1f}%  {a}")
if top:
    print(f"top {top} functions by own instructions per answer:")
    for (ob, fl, fn), ir in own.most_common(top):
        print(f"  {ir / answers:>12,.0f}  {fn}  [{ob.rsplit('/', 1)[-1]}]")
