#!/usr/bin/env python3
"""Integration test of the command line's help and of `ca issue --out`.

Every `visura CMD --help` and `visura CMD SUB --help` prints its usage to
standard output, nothing to standard error, exits 0 and does nothing else
(no database, no file).  The commands are not listed here: they are read
from `visura --help`, and each command's sub-commands from the "usage:
visura CMD SUB" lines of its own help, so a new command is walked too.

`visura ca issue --out DIR` creates DIR (0700) when it does not exist.

`visura cf` takes a codice fiscale as people type it (spaces, hyphens,
dots, lower case) and refuses it only when it is wrong after that.

Every numeric option of every command is read strictly (cli_int): digits
only, in its range, or the command stops with exit 2 naming the option and
its range, before it opens a database (before, `ca --days`, `ca --ente-id`,
`user --ente-id` and `audit purge --months` took "12abc" as 12 and "abc"
as 0, which `purge` then read as "the configured retention").

usage: test_cli_help.py PATH/TO/visura
"""
import os
import re
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness  # noqa: E402  (the database of either back end)
from harness import check  # noqa: E402

def run(args, cwd, env=None):
    return subprocess.run([harness.VISURA, *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=30)


def commands(cwd):
    p = run(["--help"], cwd)
    check(p.returncode == 0 and not p.stderr, "visura --help: stdout, exit 0")
    names = re.findall(r"^  ([a-z][a-z-]*) ", p.stdout.split("comandi:", 1)[1], re.M)
    check(len(names) >= 16, f"visura --help lists the commands ({names})")
    return names


def subcommands(cmd, usage):
    """SUB of every 'visura CMD SUB' line (SUB a word, not an option or an
    argument in capitals); 'a|b|c' gives each of them."""
    subs = []
    for m in re.finditer(r"visura " + re.escape(cmd) + r" ([a-z][a-z|-]*)(?=\s|$)", usage):
        subs += [s for s in m.group(1).split("|") if s]
    return sorted(set(subs))


def test_help():
    with tempfile.TemporaryDirectory() as work:
        help_walk(work)


def help_walk(work):
    env = dict(os.environ, VISURA_DB=os.path.join(work, "never.db"))
    walked = 0
    for cmd in commands(work):
        p = run([cmd, "--help"], work, env)
        check(p.returncode == 0, f"visura {cmd} --help exits 0 (got {p.returncode})")
        check(p.stdout.startswith("uso: visura " + cmd) or "uso:" in p.stdout,
              f"visura {cmd} --help prints its usage to stdout")
        check(p.stderr == "", f"visura {cmd} --help writes nothing to stderr: {p.stderr[:200]!r}")
        walked += 1
        for sub in subcommands(cmd, p.stdout):
            q = run([cmd, sub, "--help"], work, env)
            check(q.returncode == 0, f"visura {cmd} {sub} --help exits 0 (got {q.returncode})")
            check("uso:" in q.stdout, f"visura {cmd} {sub} --help prints its usage to stdout")
            check(q.stderr == "",
                  f"visura {cmd} {sub} --help writes nothing to stderr: {q.stderr[:200]!r}")
            walked += 1
    check(walked >= 30, f"every command and sub-command walked ({walked})")
    check(os.listdir(work) == [], f"--help created nothing: {os.listdir(work)}")


def test_ca_issue_creates_out():
    with tempfile.TemporaryDirectory() as work:
        ca_issue(work)


def ca_issue(work):
    db = harness.new_database(work, "ca")
    env = dict(os.environ, VISURA_DB=db)

    def ok(*args):
        p = run(list(args), work, env)
        check(p.returncode == 0, f"visura {' '.join(args)}: {p.returncode} {p.stderr}")
        return p

    ok("init", "--admin-user", "admin", "--admin-name", "Maria Rossi",
       "--admin-email", "anagrafe@comune.example.it")
    ok("ente", "add", "--name", "Polizia locale", "--kind", "police", "--tax-code", "80012345678")
    ok("ca", "init")
    out = os.path.join(work, "new", "certs")
    ok("ca", "issue", "--ente-id", "1", "--name", "pl-01", "--out", out)
    check(os.path.isfile(os.path.join(out, "pl-01.cert.pem")), "certificate written into the new DIR")
    check(os.path.isfile(os.path.join(out, "pl-01.key.pem")), "key written into the new DIR")
    if os.path.isdir(out):
        check(stat.S_IMODE(os.stat(out).st_mode) == 0o700, "the new DIR is 0700")
    # a path that cannot be a directory is refused with a reason, not half-made
    blocker = os.path.join(work, "file")
    open(blocker, "w").close()
    p = run(["ca", "issue", "--ente-id", "1", "--name", "pl-02", "--out",
             os.path.join(blocker, "sub")], work, env)
    check(p.returncode != 0 and "pl-02" not in p.stdout and p.stderr,
          f"--out under a file is refused with a reason: {p.returncode} {p.stderr}")


# (arguments with V for the value, the option as the message names it,
# the least and the greatest value taken)
NUMERIC = [
    (["ca", "issue", "--ente-id", "V", "--name", "w", "--out", "d"], "ca: --ente-id", 1, None),
    (["ca", "issue", "--ente-id", "1", "--days", "V", "--name", "w", "--out", "d"], "ca: --days",
     1, 3650),
    (["user", "add", "--username", "u", "--role", "operator", "--name", "N N", "--email",
      "u@example.it", "--ente-id", "V"], "user: --ente-id", 1, None),
    (["audit", "purge", "--months", "V"], "audit: --months", 1, 240),
    (["convenzione", "add", "--ente-id", "V"], "convenzione: --ente-id", 1, 1000000000),
    (["convenzione", "add", "--max-results", "V"], "convenzione: --max-results", 1, 1000000000),
    (["review", "--convenzione", "V"], "review: --convenzione", 1, None),
    (["pdnd", "map", "--purpose", "V"], "pdnd: --purpose", 1, None),
    (["pdnd", "key-add", "--ente-id", "V"], "pdnd: --ente-id", 1, None),
    (["pdnd", "key-revoke", "--id", "V"], "pdnd: --id", 1, None),
    (["list-extract", "--out", "f.csv", "--", "V"], "list-extract: ID_RICHIESTA", 1, None),
    (["spid", "federation-key-rotate", "--grace", "V"], "spid: --grace", 1, None),
]


def test_numeric_options():
    with tempfile.TemporaryDirectory() as work:
        never = os.path.join(work, "never.db")
        env = dict(os.environ, VISURA_DB=never)
        for args, option, least, most in NUMERIC:
            bad = ["", "abc", "12abc", " 5", "5 ", "+5", "0x10", "5.0", "1e3", "--5",
                   "99999999999999999999", "9223372036854775808", str(least - 1)]
            if most is not None:
                bad.append(str(most + 1))
            for v in bad:
                p = run([v if a == "V" else a for a in args], work, env)
                check(p.returncode == 2 and f"visura: {option}: un numero intero da {least} a" in p.stderr,
                      f"visura {' '.join(args)} with V={v!r}: refused naming {option} "
                      f"({p.returncode} {p.stderr[:200]!r})")
        # the server's numeric settings, as options (the configuration
        # file's lines go through the same config_set)
        for v in ("", "abc", " 2", "+2", "2x", "0x2", "-1", "99999999999999999999"):
            p = run(["serve", "--threads", v], work, env)
            check(p.returncode == 2 and "threads: deve essere un numero intero da 1 a" in p.stderr,
                  f"visura serve --threads {v!r}: refused ({p.returncode} {p.stderr[:200]!r})")
        # gen's numbers (--seed takes all of uint64) and audit consistency's
        # tree sizes: the same rule, each command's own words
        lenient = ["", "abc", " 5", "5 ", "+5", "0x10", "5.0", "1e3", "--5", "-1"]
        gen = ["gen", "--persons", "10", "--comune", "036023", "--seed", "1", "--days", "0",
               "--out", os.path.join(work, "gen")]
        for option, extra, words in (("--persons", ["0", "99999999999999999999"], "--persons è un numero"),
                                     ("--seed", ["18446744073709551616", "99999999999999999999"],
                                      "--seed è un intero senza segno"),
                                     ("--days", ["99999999999999999999"], "--days è un numero")):
            for v in lenient + extra:
                args = list(gen)
                args[args.index(option) + 1] = v
                p = run(args, work, env)
                check(p.returncode == 2 and f"visura gen: {words}" in p.stderr,
                      f"visura gen {option} {v!r}: refused ({p.returncode} {p.stderr[:200]!r})")
        for option in ("--from", "--to"):
            for v in lenient + ["4611686018427387904", "99999999999999999999"]:
                args = ["audit", "consistency", "--from", "1", "--to", "2"]
                args[args.index(option) + 1] = v
                p = run(args, work, env)
                check(p.returncode == 2 and "audit consistency: --from N --to M" in p.stderr,
                      f"visura audit consistency {option} {v!r}: refused "
                      f"({p.returncode} {p.stderr[:200]!r})")
        check(os.listdir(work) == [], f"a refused number opened nothing: {os.listdir(work)}")
    with tempfile.TemporaryDirectory() as work:
        # the listening port: digits alone (strtol took ": 8443" and ":+8443")
        os.chmod(work, 0o777)   # the test user, under root, writes the database
        env = dict(os.environ, VISURA_DB=os.path.join(work, "v.db"))
        for v in (" 18443", "+18443", "18443 ", "0", "65536", "0x4A3B", "", "99999999999999999999"):
            p = run(["serve", *harness.serve_user_args(), "--self-signed", os.path.join(work, "tls"),
                     "--listen", "127.0.0.1:" + v], work, env)
            check(p.returncode != 0 and
                  f"ascolto '127.0.0.1:{v}': la porta è un numero intero da 1 a 65535" in p.stderr,
                  f"visura serve --listen '127.0.0.1:{v}': refused ({p.returncode} {p.stderr[-200:]!r})")
    with tempfile.TemporaryDirectory() as work:
        # the largest seed is a seed
        p = run(["gen", "--persons", "5", "--comune", "036023", "--seed", "18446744073709551615",
                 "--out", os.path.join(work, "gen")], work)
        check(p.returncode == 0 and os.listdir(os.path.join(work, "gen")),
              f"visura gen --seed 2^64-1: {p.returncode} {p.stderr[:200]!r}")


def test_cf_as_typed():
    with tempfile.TemporaryDirectory() as work:
        for typed in ("rss mra 80a01 f205x", "RSS-MRA-80A01-F205X", " Rss.Mra.80A01.F205x "):
            p = run(["cf", typed], work)
            check(p.returncode == 0 and p.stdout.startswith("RSSMRA80A01F205X\tvalid"),
                  f"visura cf {typed!r}: {p.returncode} {p.stdout} {p.stderr}")
        p = run(["cf", "rss mra 80a01 f205y"], work)
        check(p.returncode == 1 and "il carattere di controllo non corrisponde" in p.stdout,
              f"a wrong check character is refused with its reason: {p.returncode} {p.stdout}")


if __name__ == "__main__":
    harness.run_tests(globals())
