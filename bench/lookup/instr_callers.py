#!/usr/bin/env python3
"""Who calls a function, per answer: the inclusive cost of each direct
caller's calls to FUNCTION and their number, in the run of ANSWERS
look-ups less the run without them (the two lives that
bench/lookup/instr.sh keeps with KEEP=1), by callgrind_annotate's caller
tree.  E.g. who clears memory with memset, or formats with snprintf:

  KEEP=1 bench/lookup/instr.sh build 400 20000     # prints its work dir
  bench/lookup/instr_callers.py WORK_DIR 400 __memset_avx2_unaligned_erms
  bench/lookup/instr_callers.py WORK_DIR 400 snprintf

Functions of libraries without symbols appear by address (libmicrohttpd's
memory pool here: see docs/performance.md).  callgrind counts one
instruction per byte of a `rep stosb`, glibc's memset above 2 KiB: the
figures of a large memset stand for far less time than their count says.

usage: instr_callers.py WORK_DIR ANSWERS FUNCTION [ROWS]
ROWS: how many callers to list (default 15), the largest first.
"""
import re
import subprocess
import sys

work, answers, function = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = int(sys.argv[4]) if len(sys.argv) > 4 else 15
CALLER = re.compile(r"\s*([\d,]+) \([^)]*\)\s+<\s+(\S+) \(([\d,]+)x\)")
ITSELF = re.compile(r"\s*([\d,]+) \([^)]*\)\s+\*\s+(\S+)")


def number(s):
    return int(s.replace(",", ""))


def callers(out):
    """{caller: [inclusive cost of its calls to the function, calls]}."""
    text = subprocess.run(["callgrind_annotate", "--tree=caller", "--inclusive=yes",
                           "--threshold=100", out], capture_output=True, text=True,
                          check=True).stdout
    found, block = {}, []
    for line in text.splitlines():
        m = CALLER.match(line)
        if m:
            block.append((m.group(2), number(m.group(1)), number(m.group(3))))
            continue
        m = ITSELF.match(line)
        if m and (m.group(2) == function or m.group(2).endswith(":" + function)):
            for who, cost, calls in block:
                acc = found.setdefault(who, [0, 0])
                acc[0] += cost
                acc[1] += calls
        if m or not line.strip():
            block = []
    return found


with_answers = callers(f"{work}/lookups.callgrind")
without = callers(f"{work}/base.callgrind")
table = []
for who in set(with_answers) | set(without):
    a, b = with_answers.get(who, [0, 0]), without.get(who, [0, 0])
    table.append(((a[0] - b[0]) / answers, (a[1] - b[1]) / answers, who))
table.sort(reverse=True)
print(f"{function}: {sum(t[0] for t in table):,.0f} instructions per answer from its callers")
print("  per answer   calls   caller")
for cost, calls, who in table[:rows]:
    print(f"{cost:12,.0f} {calls:7.2f}   {who}")
