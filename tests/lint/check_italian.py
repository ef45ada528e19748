#!/usr/bin/env python3
"""The texts a user reads stay Italian (README.md, "Language"), beyond the
error answers tests/lint/check_messages.py holds:

- the importer's messages: what src/import builds for a refused file (the
  reject report, `visura import`, problems[].reason of POST /api/v1/imports):
  the reasons given to fail(), rd_problem(), problem(), rd_unique(),
  rd_error(), the messages snprintf'd into msg, the codice fiscale's
  status texts (cf_status_text) and `visura import`'s own result lines;
- the messages given to the project's error setter, vis_error_set(), in
  the modules whose errors reach an office or an answer (API, access
  corridor, workflows, import), whatever their code;
- the JSON string values written in src/api (json_pack, json_string,
  json_sprintf, and what is assigned to problem/reason/note/detail/warning
  there): a value with a space in it is a sentence somebody reads (keys
  and codes have none);
- the reasons an account is disabled for (auth_account_disable and the
  AUTH_REASON_* of src/auth/auth.h): stored and shown to the admins;
- the field names of the importer's reject report (the third column, and
  problems[].field of POST /api/v1/imports): each name src/import gives a
  problem must be a name of docs/import-format.md's field tables, and none
  may hold an English word of a field's name (FIELD_ENGLISH: "id", "date",
  "birth", ...);
- what the command line writes for a person (src/cli): every text of its
  sources, help, usage lines, option descriptions, progress, result and
  error lines, the commands' summaries: each run of adjacent literals with
  a space in it, wherever it stands.  Not looked at there: log lines, the
  names given to fsmode_* (another module's message around them), and in
  each text the command and option names (`--from`, `list-extract`,
  `visura pdnd key-list`, "audit head" as cli_error's subject, a help's
  column of sub-commands) and the machine-readable tokens between tabs
  (`<TAB>invalid<TAB>` in a help, "\tinvalid\t" in a line): they are what
  is typed or parsed, not prose.  An English word the office would not see
  elsewhere is also refused there (CLI_ENGLISH: "usage", "prints", ...).
- the configuration's help of every option (`visura serve
  --print-config`, the package's visura.conf) and its errors, the file
  modes' messages (src/common/config.c, fsmode.c: every text), the names callers give fsmode_* ("la chiave di firma"), and
  the names of the error codes (vis_strerror);
- the messages of src/store, src/backup and src/http (vis_error_set: what `visura
  migrate`, `visura backup` and `restore`, the
  commands and /readyz say of the database) and the names of its
  migrations (`visura init --check` lists those it would apply);
- the names src/store gives its statements: the `what` of drv_prepare
  and of every function of src/store with a `const char *what` parameter
  (found from their declarations), and STR_SET's subject there.  They
  head the store's error messages ("registrazione dell'accesso: ...") and
  the log's what="..." (`scrittura rifiutata dal database`): every literal
  there, even a single word ("bulletin"), and src/store's messages, are
  held to LOG_ENGLISH and STORE_ENGLISH too;
- every text of the modules whose words reach a person whatever call
  carries them (MESSAGE_MODULES): the access trail's verdicts and
  receipts' reasons (src/audit: `visura audit verify`, /api/v1/audit/verify's
  `why`), the witnesses' answers and the publisher's reasons (src/witness,
  /readyz): each run of adjacent literals with a space, log lines and
  _Static_assert left out;
- the log (log_debug, log_info, log_warn, log_error: the operator reads it,
  docs/it/installazione.md, "Log"): every call's event name (msg="...",
  even a single word: "stopped"), the free-text values its key=value
  format writes (bug="...", a value with no printf conversion in it) and
  the literals given as its values ("unknown" as error=, "ON" as
  test_clock=).  The keys (request_id=, error=) are machine keys, like a
  JSON answer's field names, and stay; so do the level names (level=warn)
  and what a %s brings from elsewhere (an error's message, held above
  where it is set).  An English word of a log line is also refused there
  (LOG_ENGLISH: "stopped", "request", "reloaded", ...).

Each text (adjacent literals joined) is held to tests/lint/italian.py, the
word list the e2e harness applies to every error answer, the log's with
LOG_ENGLISH too.  Comments and SQL are not looked at.  Exit 1 and one line per
English text (file:line: words: text)."""
import pathlib
import re
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from italian import _NAMES, _QUOTED, english_words, words_pattern  # noqa: E402
from check_messages import call_text, messages  # noqa: E402

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else
                    pathlib.Path(__file__).resolve().parents[2])
src = root / "src"

# Texts that are not messages (file, text), each with why.
ALLOWED = {
    # The value the databases written before the reasons were Italian hold;
    # kept to be compared with (src/api/reports.c), never written.
    ("auth/auth.h", "suspended by alert"),
    # A fixed marker in front of the (Italian) warning of a server run with
    # the test clock: docs/openapi.yaml's pattern and monitoring match it.
    ("api/ops.c", "TEST CLOCK ON: qualsiasi client può spostare l'orologio di questo server"),
    # The same marker as the log's event name of such a server (a warn line
    # at start; tests/e2e/test_release_hooks.py looks for it).
    ("cli/cmd_serve.c", "TEST CLOCK ON"),
}

# Modules whose vis_error_set messages reach an office or an answer.
# Words of an English help or result line that italian.py's list (kept to
# function words, for every error answer) does not hold.
CLI_ENGLISH = ("usage", "commands", "prints", "writes", "creates", "default", "checks",
               "exit status", "written", "created", "removed", "verified", "revoked",
               "rotated", "restored", "copied", "kept", "mapped", "registered", "enabled",
               "disabled", "recorded", "listening", "ready", "sound", "note", "keys",
               "records", "key", "password", "temporary", "shown", "once", "body",
               "agreement", "account", "witness", "trail", "head", "signed", "signature",
               "file", "files")
CLI_WORDS = re.compile(words_pattern(CLI_ENGLISH))
# What a CLI text names rather than says: options, hyphenated command names,
# `visura CMD SUB`, and the tokens a help shows between <TAB>s.
CLI_NAMES = r"--?[A-Za-z][\w-]*|\b\w+(?:-\w+)+\b|\bvisura(?: [a-z][\w|-]*){1,2}" \
            r"|<TAB>\w+<TAB>|\t\w+\t|(?m:^  [a-z][\w-]*(?=  ))"
# English words of the import format's field names (the names a reject
# report's third column gave before they were Italian).
FIELD_ENGLISH = ("id", "family", "person", "event", "date", "name", "place", "type", "kind",
                 "reason", "time", "count", "status", "sequence", "producer", "format",
                 "version", "street", "civic", "postcode", "locality", "staircase", "internal",
                 "surname", "sex", "birth", "citizenships", "civil", "father", "mother",
                 "registration", "cancellation", "destination", "relationship", "other",
                 "valid", "from", "letter", "exponent", "extract")
FIELD_WORDS = re.compile(r"\b(" + "|".join(FIELD_ENGLISH) + r")\b")
# Where src/import names a field: number(c, 5, "NAME", ...) and the other
# field readers, fail(c, "NAME", ...), problem(..., "PER", "NAME", ...).
FIELD_ARG = re.compile(r'\b\w+\(&?c, \d+, "([^"]+)"|\bfail\(c, "([^"]+)"'
                       r'|"(?:HDR|FAM|PER|EVT|END)", "([^"]+)"')


def format_fields(root):
    """The names of docs/import-format.md's field tables (| # | field | rule |)."""
    names, table = set(), False
    for line in (root / "docs" / "import-format.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| # | field |"):
            table = True
        elif not line.startswith("|"):
            table = False
        elif table:
            m = re.match(r"\| \d+ \| ([^|`]+?) \|", line)
            if m:
                names.add(m.group(1))
    return names


# Words of the English log lines (event names and values) that italian.py's
# list, kept to function words, does not hold; none is an Italian word
# ("file", "database", "server", "client", "log", "thread" are both and
# stay out).  "no" before a word is English ("no receipt"); alone it is
# Italian too.
LOG_ENGLISH = ("request", "answer", "written", "write", "create", "created", "upload",
               "refused", "refusal", "recorded", "renegotiation", "initiated", "interface",
               "secret", "secrets", "sealed", "unusable", "unavailable", "shared", "threads",
               "duties", "lease", "released", "another", "instance", "takes", "lapses",
               "alert", "counters", "reset", "trail", "head", "heads", "appended", "commit",
               "shutdown", "receipt", "ready", "signed", "string", "cut", "source", "longer",
               "field", "message", "import", "mode", "wide", "keys", "reloaded", "unchanged",
               "previous", "ones", "one", "stay", "stays", "bulletin", "bulletins",
               "regenerated", "built", "archived", "witness", "listening", "certificate",
               "self-signed", "maintenance", "credentials", "state", "vacuumed", "event",
               "events", "push", "pushed", "citizens", "notices", "queued", "delivery", "sent",
               "monthly", "privileges", "dropped", "off", "clock", "never", "production",
               "reopened", "kept", "old", "stopping", "stopped", "statement", "control",
               "generation", "unreadable", "cosigned", "cosignatures", "stored", "publisher",
               "reachable", "room", "headers", "unknown")
LOG_WORDS = re.compile(words_pattern(LOG_ENGLISH) + r"|\b(no)\s+[a-z]")
# English words of src/store's statement names and messages (beyond
# LOG_ENGLISH): what they said before they were Italian.  "database",
# "schema", "record", "token", "webhook", "password", "identity"
# (PostgreSQL's identity columns) and "TOTP" are Italian there too and stay
# out, as does SQL in capitals ("un'istruzione che non è un INSERT").
STORE_ENGLISH = ("access", "aborted", "bad", "begin", "bulk", "checkpoint", "checkpoints",
                 "citizen", "close", "columns", "companion", "count", "counts", "delete",
                 "empty", "feed", "finish", "history", "household", "households", "id", "ids",
                 "inside", "insert", "load", "lock", "look-up", "mark", "members",
                 "migration", "municipalities", "outside", "path", "person", "persons",
                 "pipeline", "prepare", "probe", "purge", "purges", "readiness", "records", "register", "revoke", "rollback", "search", "seen", "session",
                 "sessions", "setting", "snapshot", "span", "statistics", "store", "subject",
                 "subjects", "tables", "throttle", "tokens", "transaction", "tree", "unlisted",
                 "vacuum", "version", "versions")
STORE_WORDS = re.compile(words_pattern(STORE_ENGLISH))
# The functions of src/store whose parameter `what` names a statement.
WHAT_PARAM = re.compile(r"const\s+char\s*\*\s*what\s*$")
# One key=value of a log format: the key, then a quoted or a bare value.
LOG_KV = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')
# A printf conversion (what a value brings from an argument).
PRINTF = re.compile(r"%[-+ #0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|z|j|t|L)?[diouxXfFeEgGaAcspn%]")


def log_english(text):
    """english_words, with LOG_ENGLISH, of a log line's name or value."""
    low = text.lower()
    more = set(m.group(1) or m.group(2) for m in LOG_WORDS.finditer(low))
    return sorted(set(english_words(text)) | more)


def log_texts(text):
    """(position, text) of what each log_*(...) call writes for a person:
    its event name, the values of its format (printf conversions taken
    out, what is left of each with a letter in it, underscores read as
    spaces) and the literals of its arguments."""
    out = []
    for m in LOG.finditer(text):
        a = args(call_text(text, m.end()))
        if not a or '"' not in a[0]:
            continue  # the macros of log.h
        out += [(m.start(), s) for s in messages(a[0])]
        fmt = "".join(messages(a[1])) if len(a) > 1 else ""
        rest = LOG_KV.sub(" ", fmt)
        values = [v.group(2).strip('"') for v in LOG_KV.finditer(fmt)] + [rest]
        for v in values:
            v = PRINTF.sub(" ", v).replace("_", " ").strip()
            if re.search(r"[A-Za-z]", v):
                out.append((m.start(), v))
        for arg in a[2:]:
            out += [(m.start(), s) for s in messages(arg) if re.search(r"[A-Za-z]", s)]
    return out


def store_english(text):
    """log_english, with STORE_ENGLISH, of a statement's name or a message
    of src/store."""
    low = re.sub(r"\b[A-Z]{2,}\b", " ", text).lower()
    more = set(m.group(1) for m in STORE_WORDS.finditer(low))
    return sorted(set(log_english(text)) | more)


def store_what_calls(root):
    """{function: index of its `what` argument} for the functions src/store
    declares or defines with a `const char *what` parameter, and STR_SET."""
    calls = {"STR_SET": 2, "str_set": 2}
    for path in sorted((root / "src" / "store").glob("*.[ch]")):
        text = strip_comments(path.read_text(encoding="utf-8"))
        for m in re.finditer(r"\b(\w+)\s*\(", text):
            for i, a in enumerate(args(call_text(text, m.end()))):
                if WHAT_PARAM.search(a.strip()):
                    calls.setdefault(m.group(1), i)
    return calls


def store_what_texts(text, calls):
    """(position, literal) of every literal given as a statement's name."""
    out = []
    for m in re.finditer(r"\b(" + "|".join(map(re.escape, calls)) + r")\s*\(", text):
        a = args(call_text(text, m.end()))
        k = calls[m.group(1)]
        if len(a) > k:
            out += [(m.start(), s) for s in messages(a[k])]
    return out


CLI_NAME_RE = []   # cli_names(root), set by main()
CLI_SKIP = re.compile(r"\b(?:log_(?:debug|info|warn|error)|fsmode_\w+|_Static_assert)\s*\(")
CLI_LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')


def cli_names(root):
    """CLI_NAMES, with the commands of src/cli/main.c's table where they
    stand as names: at the start of a text ("audit head", cli_error's
    subject) or after "visura" / "visura:", with their sub-command."""
    table = (root / "src" / "cli" / "main.c").read_text(encoding="utf-8")
    cmds = re.findall(r'\{"([a-z][a-z-]*)", cmd_\w+,', table)
    return re.compile(CLI_NAMES + r"|(?:^|\bvisura:? )(?:" + "|".join(map(re.escape, cmds))
                      + r")\b(?: [a-z][\w-]*)?")


def cli_english(text):
    """english_words, with CLI_ENGLISH, after the names a CLI text quotes."""
    t = CLI_NAME_RE[0].sub(" ", text)
    # "file" is Italian too: only in an English phrase ("the file", "file to")
    words = set(english_words(t))
    low = t.lower()
    more = set(m.group(1) for m in CLI_WORDS.finditer(_NAMES.sub(" ", _QUOTED.sub(" ", low))))
    if not words:
        more -= {"file", "files", "password", "default", "note"}
    return sorted(words | more)


def cli_texts(text):
    """(position, text) of every run of adjacent literals of a CLI source,
    log_* and fsmode_* calls left out."""
    masked = list(text)
    for m in CLI_SKIP.finditer(text):
        end = m.end() + len(call_text(text, m.end()))
        masked[m.start():end] = " " * (end - m.start())
    masked = "".join(masked)
    out, run, at, last = [], [], 0, None
    for m in CLI_LITERAL.finditer(masked):
        between = masked[last:m.start()] if last is not None else None
        if run and between is not None and re.fullmatch(r"\s*(?:[A-Z_]+\s*)?", between):
            run.append(m.group(1))
        else:
            if run:
                out.append((at, "".join(run)))
            run, at = [m.group(1)], m.start()
        last = m.end()
    if run:
        out.append((at, "".join(run)))
    return [(a, t.replace('\\"', '"').replace("\\n", "\n").replace("\\t", "\t"))
            for a, t in out]


# Modules every text of which reaches a person (a verdict's reason, a
# message of the command line, an answer, /readyz): each run of adjacent
# literals with a space, log lines and build-time assertions left out.
MESSAGE_MODULES = ("audit", "witness", "oidc", "jwks")
# Single files every text of which a person reads: the options' help
# (`visura serve --print-config`, the package's visura.conf) and errors.
MESSAGE_FILES = ("common/config.c", "common/fsmode.c", "common/err.c", "common/priv.c")
# What a caller names to fsmode_*: the subject of its message.
FSMODE = re.compile(r"\bfsmode_\w+\s*\(")
ERROR_MODULES = ("api", "access", "import", "listreq", "incident", "review", "notify",
                 "query", "policy", "stats", "cf", "store", "backup", "http", "auth", "app", "refdata", "gen",
                 "bollettino", "pdnd", "alert", "web", "jwks", "watch", "net")
# Message-building calls of the importer: name -> index of the message
# argument (0-based); every literal of that argument counts.
IMPORT_CALLS = {"fail": 2, "rd_problem": 4, "problem": 4, "rd_unique": 5, "rd_error": 2,
                "vis_error_set": 2, "snprintf": 2}
CALL = re.compile(r"\b(" + "|".join(IMPORT_CALLS) + r")\s*\(")
VIS = re.compile(r"\bvis_error_set\s*\(")
JSON = re.compile(r"\b(json_pack|json_string|json_sprintf|json_stringn)\s*\(")
# In src/api, a sentence assigned to the variables answers are built from.
ASSIGNED = re.compile(r"\b(?:problem|reason|note|detail|warning)\s*=\s*(?=[^=])")
DISABLE = re.compile(r"\bauth_account_disable\s*\(")
LOG = re.compile(r"\blog_(?:debug|info|warn|error)\s*\(")


def args(stmt):
    """The top-level arguments of a call's text (after its '(')."""
    out, depth, cur, i, n = [], 0, "", 0, len(stmt)
    while i < n:
        c = stmt[i]
        if c in "\"'":
            j = i + 1
            while j < n and stmt[j] != c:
                j += 2 if stmt[j] == "\\" else 1
            cur += stmt[i:j + 1]
            i = j + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    out.append(cur)
    return out


def strip_comments(text):
    """Comments blanked (newlines kept, so line numbers hold); strings kept."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text[i] in "\"'":
            q, j = text[i], i + 1
            while j < n and text[j] != q and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def found(rel, text, at, msg, bad, judge=english_words):
    if (rel, msg) in ALLOWED:
        return 0
    words = judge(msg)
    if words:
        line = text.count("\n", 0, at) + 1
        bad.append(f"src/{rel}:{line}: English ({', '.join(words)}): {msg[:120]}")
    return 1


def in_log(text, at):
    """Whether position `at` is inside a log_*(...) call."""
    start = text.rfind(";", 0, at)
    return bool(LOG.search(text, start + 1, at))


def main():
    bad, checked = [], 0
    cli_checked, log_checked = [0], [0]
    CLI_NAME_RE[:] = [cli_names(root)]
    fields, field_checked = format_fields(root), [0]
    what_calls, what_checked = store_what_calls(root), [0]
    files = sorted(src.rglob("*.[ch]"))
    for path in files:
        rel = path.relative_to(src).as_posix()
        module = rel.split("/")[0]
        text = strip_comments(path.read_text(encoding="utf-8"))
        texts = []  # (position, message)
        if module == "import":
            for m in CALL.finditer(text):
                a = args(call_text(text, m.end()))
                k = IMPORT_CALLS[m.group(1)]
                if m.group(1) == "snprintf" and not re.fullmatch(r"\s*msg\s*", a[0]):
                    continue
                if len(a) > k:
                    texts += [(m.start(), s) for s in messages(a[k])]
        elif module in ERROR_MODULES:
            for m in VIS.finditer(text):
                a = args(call_text(text, m.end()))
                if len(a) > 2:
                    texts += [(m.start(), s) for s in messages(a[2])]
        if rel == "cf/cf.c":
            body = re.search(r"cf_status_text\s*\([^)]*\)\s*\{(.*?)\n\}", text, re.S)
            if body:
                texts += [(body.start(), s) for s in re.findall(r'return\s+"([^"]*)"', body.group(1))]
        if rel == "cli/cmd_import.c":
            body = re.search(r"static int import_one\s*\(.*?\n\}", text, re.S)
            if body:
                for m in re.finditer(r"\b(?:f?printf)\s*\(", body.group(0)):
                    at = body.start() + m.start()
                    texts += [(at, s) for s in messages(call_text(text, at + m.end() - m.start()))]
        if module == "api":
            for m in JSON.finditer(text):
                if in_log(text, m.start()):
                    continue
                a = args(call_text(text, m.end()))
                rest = a[1:] if m.group(1) == "json_pack" else a
                for arg in rest:
                    texts += [(m.start(), s) for s in messages(arg) if " " in s.strip()]
            for m in ASSIGNED.finditer(text):
                line = text[text.rfind("\n", 0, m.start()) + 1:m.start()]
                if in_log(text, m.start()) or line.replace('\\"', "").count('"') % 2:
                    continue  # a log line, or inside a string
                texts += [(m.start(), s) for s in messages(call_text(text, m.end()))]
        for m in DISABLE.finditer(text):
            a = args(call_text(text, m.end()))
            if len(a) > 2:
                texts += [(m.start(), s) for s in messages(a[2])]
        for m in FSMODE.finditer(text):
            for arg in args(call_text(text, m.end())):
                texts += [(m.start(), s) for s in messages(arg) if " " in s]
        if rel == "common/err.c":
            body = re.search(r"vis_strerror\s*\([^)]*\)\s*\{(.*?)\n\}", text, re.S)
            for s in re.findall(r'return\s+"([^"]*)"', body.group(1) if body else ""):
                checked += found(rel, text, body.start(), s, bad,
                                 lambda x: english_words(x + " ") or
                                 [w for w in ("invalid", "conflict", "limit", "error")
                                  if w in x.split()])
        if rel == "store/schema.c":
            texts += [(m.start(), m.group(1))
                      for m in re.finditer(r'\{\d+, "([^"]*)",\s*migration_\d+\}', text)]
        if rel == "auth/auth.h":
            texts += [(m.start(), m.group(1))
                      for m in re.finditer(r'#define AUTH_REASON_\w+\s+"([^"]*)"', text)]
        for at, msg in texts:
            if " " not in msg.strip():
                continue  # a code ("expired"), a format or a name, not a sentence
            checked += found(rel, text, at, msg.replace('\\"', '"'), bad,
                             store_english if module == "store" else english_words)
        if module == "store":
            for at, msg in store_what_texts(text, what_calls):
                what_checked[0] += 1
                checked += found(rel, text, at, msg, bad, store_english)
        if module == "import":
            for m in FIELD_ARG.finditer(text):
                name = next(g for g in m.groups() if g is not None)
                if name in ("HDR", "FAM", "PER", "EVT", "END"):
                    continue  # the record types' list, not a field
                line = text.count("\n", 0, m.start()) + 1
                field_checked[0] += 1
                words = sorted(set(FIELD_WORDS.findall(name.lower())))
                if words:
                    bad.append(f"src/{rel}:{line}: English field name ({', '.join(words)}): {name}")
                elif name not in fields:
                    bad.append(f"src/{rel}:{line}: field name not in docs/import-format.md's "
                               f"tables: {name}")
        if module in MESSAGE_MODULES or rel in MESSAGE_FILES:
            for at, msg in cli_texts(text):
                if " " in msg.strip():
                    checked += found(rel, text, at, msg, bad)
        if rel != "common/log.c":
            for at, msg in log_texts(text):
                log_checked[0] += 1
                checked += found(rel, text, at, msg, bad, log_english)
        if module == "cli":
            for at, msg in cli_texts(text):
                if " " in msg.strip():
                    cli_checked[0] += 1
                    checked += found(rel, text, at, msg, bad, cli_english)
    if not files:
        print("no sources found under", src)
        return 2
    for b in bad:
        print(b)
    print(f"{checked} user-facing texts checked ({cli_checked[0]} of the command line, "
          f"{log_checked[0]} of the log, {what_checked[0]} statement names of src/store), "
          f"{field_checked[0]} import field names, {len(bad)} English")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
