#!/usr/bin/env python3
"""Every message an HTTP answer carries is Italian (README.md, "Language").

Reads src/ and finds the texts that reach an answer's error message:
http_reply_error(...) calls, the messages they are built from
(snprintf(msg, ...)), the refusals of the access corridor, the
policy, PDND and SPID (refuse(...), struct ..._refusal initialisers,
->message / malformed_message assignments, need(...)), the messages of
password_policy_check and framing_problem, and the vis_error_set texts
with an error code answered as is (VIS_ERR_INVALID, _NOTFOUND,
_CONFLICT, _LIMIT: api_reply_refusal) in the modules whose errors are
answered.  Each text (its adjacent literals joined) is held to
tests/lint/italian.py.  Log lines and the command line are for the
technical staff and stay out.  Exit 1 and one line per English text."""
import pathlib
import re
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from italian import english_words  # noqa: E402

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else
                    pathlib.Path(__file__).resolve().parents[2])
src = root / "src"

# Modules whose refusals and vis_error texts reach answers (api_reply_refusal,
# e.msg); of pdnd.c only the mapping the API offers (its keys are the
# configuration's, read by the technical staff); the vis_error texts of
# oidc.c and federation.c are the configuration's too (their refusals to a
# browser are held to Italian).
ANSWERED = {"api", "http/server.c", "access", "query", "policy", "listreq", "incident",
            "review", "auth/oprequest.c", "auth/hours.c", "auth/auth.c", "net/outbound.c",
            "stats", "pdnd", "oidc", "common/str.c"}
VIS_NOT = {"http/server.c", "pdnd/pdnd.c", "oidc/oidc.c", "oidc/federation.c"}
VIS_FUNCS = {"pdnd/pdnd.c": ("pdnd_purpose_map", "pdnd_purpose_unmap")}
# Calls whose string arguments are an answer's message.
CALLS = re.compile(r"\b(http_reply_error|refuse|need|bad)\s*\(|"
                   r"\bsnprintf\s*\(\s*(?:msg|\w+->message)\s*,|"
                   r"\bSTR_COPY_KNOWN\s*\(\s*\w+->message\s*,")
ASSIGN = re.compile(r"(?:->|\.)(?:message|malformed_message)\s*=|\"message\",(?=\s*\")|"
                    r"\(struct (?:pdnd|oidc|policy)_refusal\)\s*\{|"
                    r"struct (?:pdnd|oidc|policy)_refusal \w+ = \{")
VIS = re.compile(r"\bvis_error_set\s*\(\s*[^,]+,\s*VIS_ERR_(INVALID|NOTFOUND|CONFLICT|LIMIT)\b")
RETURNS = {"auth/password.c": "password_policy_check", "http/server.c": "framing_problem",
           "policy/policy.c": "policy_convenzione_check", "auth/auth.c": "auth_standing_message"}
LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')


def answered(rel):
    return any(rel == a or rel.startswith(a + "/") for a in ANSWERED)


def call_text(text, start):
    """The text from start to the end of the statement (';' or '}' outside
    strings and parentheses)."""
    depth, i, n = 0, start, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == "'":
            i += 1
            while i < n and text[i] != "'":
                i += 2 if text[i] == "\\" else 1
        elif c in "({":
            depth += 1
        elif c in ")}":
            depth -= 1
            if depth < 0:
                return text[start:i]
        elif c == ";" and depth <= 0:
            return text[start:i]
        i += 1
    return text[start:]


def messages(stmt):
    """The messages of a statement: runs of adjacent literals."""
    out, run, last = [], [], None
    for m in LITERAL.finditer(stmt):
        between = stmt[last:m.start()] if last is not None else ""
        if run and re.fullmatch(r"\s*(\\\s*)?", between or ""):
            run.append(m.group(1))
        elif run and re.fullmatch(r"\s*[A-Z_]+\([^()]*\)\s*", between):
            run.append(" X ")
            run.append(m.group(1))
        else:
            if run:
                out.append("".join(run))
            run = [m.group(1)]
        last = m.end()
    if run:
        out.append("".join(run))
    return [s.replace('\\"', '"') for s in out]


def function_body(text, name):
    m = re.search(r"\n[^\n;]*\b" + name + r"\s*\([^;{]*\)\s*\{", text)
    if not m:
        return ""
    return call_text(text, m.end())


def main():
    bad = checked = 0
    files = sorted(p for p in src.rglob("*.[ch]") if not p.is_relative_to(src / "cli"))
    for path in files:
        rel = path.relative_to(src).as_posix()
        text = path.read_text(encoding="utf-8")
        stmts = []
        for rx in (CALLS, ASSIGN):
            for m in rx.finditer(text):
                if rx is CALLS and m.group(1) != "http_reply_error" and not answered(rel):
                    continue
                stmts.append((m.start(), call_text(text, m.end())))
        if answered(rel) and rel not in VIS_NOT:
            stmts += [(m.start(), call_text(text, m.end())) for m in VIS.finditer(text)]
        for fn in VIS_FUNCS.get(rel, ()):
            body = function_body(text, fn)
            at = text.find(body)
            stmts += [(at + m.start(), call_text(body, m.end())) for m in VIS.finditer(body)]
        for fn in [f for r, f in RETURNS.items() if r == rel]:
            body = function_body(text, fn)
            at = text.find(body)
            stmts += [(at, s) for s in re.findall(r"return\s+([^;]*);", body) if '"' in s]
        # The error messages of #define'd rules (CF_TYPED_RULE, QUERY_TOO_LARGE_MESSAGE).
        for m in re.finditer(r"#define (\w*(?:RULE|MESSAGE|REFUSED)\w*)[^\n]*(?:\\\n[^\n]*)*", text):
            stmts.append((m.start(), m.group(0)))
        for at, stmt in stmts:
            for msg in messages(stmt):
                if " " not in msg.strip():
                    continue  # a code or a name, not a sentence
                checked += 1
                words = english_words(msg)
                if words:
                    line = text.count("\n", 0, at) + 1
                    print(f"src/{rel}:{line}: English ({', '.join(words)}): {msg[:120]}")
                    bad += 1
    if not files:
        print("no sources found under", src)
        return 2
    print(f"{checked} answer messages checked, {bad} English")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
