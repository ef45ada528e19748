#!/usr/bin/env python3
"""No silent string cut in src/ (docs/design.md, "Strings and buffers").

Refuses the copies that cut a string without telling anyone:
snprintf(dst, cap, "%s", src) and strncpy, and any snprintf whose result
is dropped (a statement `snprintf(...);` or `(void)snprintf(...);`) with a
%s in its format: a text that does not fit is then cut and nobody knows
(a path cut names another file).  Copies go through str_copy / STR_COPY /
STR_SET / STR_COPY_KNOWN / str_copy_cut, formats through str_fmt /
STR_FMT / STR_FMT_SET / STR_FMT_KNOWN (src/common/str.h), whose callers
decide what a text that does not fit means.  Exit 1 and one line per
offence when any is found."""
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
# a conversion of a string: %s, %.*s, %-20s, %.150s
string_spec = re.compile(r"%[-+ #0]*(\*|\d+)?(\.(\*|\d+)?)?s")
dropped_why = ("snprintf with %s whose result is dropped cuts silently: use str_fmt / "
               "STR_FMT (refuses, dst \"\") or STR_FMT_SET, or STR_FMT_KNOWN with a comment "
               "saying why it fits")


def skip_back(text, i):
    """The index just after the code before i (spaces and comments skipped)."""
    while True:
        while i > 0 and text[i - 1].isspace():
            i -= 1
        if text[i - 2:i] != "*/":
            return i
        i = text.rfind("/*", 0, i - 2)


def open_paren(text, i):
    """The index of the '(' that the ')' at text[i - 1] closes."""
    depth = 0
    for k in range(i - 1, -1, -1):
        if text[k] == ")":
            depth += 1
        elif text[k] == "(":
            depth -= 1
            if depth == 0:
                return k
    return 0


def starts_statement(text, start):
    """Whether the call at start begins a statement (its value unused)."""
    i = skip_back(text, start)
    if text[max(0, i - 6):i] == "(void)":
        i = skip_back(text, i - 6)
    if i == 0 or text[i - 1] in ";{}":
        return True
    if text[i - 1] == ":":  # a label or a case, not the ?: operator
        line = text[text.rfind("\n", 0, i) + 1:i]
        return re.fullmatch(r"\s*(case\b.*|default|\w+)\s*:", line) is not None
    if re.search(r"\belse$", text[:i]):
        return True
    if text[i - 1] == ")":  # if (...) snprintf(...);
        return re.search(r"\b(if|while|for)\s*$", text[:open_paren(text, i)]) is not None
    return False


def call_args(text, i):
    """The arguments of the call whose '(' is at text[i], and the index
    after its ')'."""
    depth, k, args, cur = 0, i, [], i + 1
    while k < len(text):
        c = text[k]
        if c in "\"'":
            k += 1
            while text[k] != c:
                k += 2 if text[k] == "\\" else 1
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                args.append(text[cur:k])
                return args, k + 1
        elif c == "," and depth == 1:
            args.append(text[cur:k])
            cur = k + 1
        k += 1
    return args, len(text)


def dropped_string_formats(text):
    """The offsets of the statements snprintf(d, cap, "...%s...", ...);"""
    for m in re.finditer(r"\bsnprintf\s*\(", text):
        if not starts_statement(text, m.start()):
            continue
        args, end = call_args(text, m.end() - 1)
        if len(args) < 3 or not text[end:].lstrip().startswith(";"):
            continue
        fmt = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', args[2])).replace("%%", "")
        if string_spec.search(fmt):
            yield m.start()


def is_comment(text, start):
    line_start = text.rfind("\n", 0, start) + 1
    return text[line_start:start].lstrip().startswith(("*", "/*", "//"))


bad = 0
files = sorted(root.rglob("*.[ch]"))
for path in files:
    text = path.read_text(encoding="utf-8", errors="replace")
    for start in dropped_string_formats(text):
        if is_comment(text, start):
            continue
        line = text.count("\n", 0, start) + 1
        print(f"{path.relative_to(root.parent)}:{line}: {dropped_why}")
        bad += 1
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
print(f"{len(files)} files checked, {bad} silent copies or formats")
sys.exit(1 if bad else 0)
