#!/usr/bin/env python3
"""Does a message a person reads look English?  (Everything a user reads is
Italian: README.md, "Language".)

english_words(text) -> the English function words and phrases found in
text, lower-cased and matched on word boundaries, after what is quoted
('...', "...", «...») and what reads as a name (an API path, a snake_case
or dotted identifier, a header name) is taken out: a message may name
the field "from" or the header X-CSRF-Token without being English.

Used by the e2e harness on every error answer (tests/e2e/harness.py) and
by tests/lint/check_messages.py on the messages written in src/."""
import re

# Words that are not Italian and carry the grammar of an English sentence.
ENGLISH = (
    "the", "is", "are", "was", "be", "been", "must", "not", "no such", "required",
    "invalid", "too", "of", "or", "and", "an", "this", "that", "these", "only",
    "cannot", "can", "may", "has", "have", "with", "without", "for", "from", "to",
    "at", "by", "on", "it", "its", "wrong", "missing", "already", "again", "try",
    "wait", "before", "after", "please", "allowed", "forbidden", "unknown",
    "expired", "exists", "found", "does", "do", "there", "their", "which", "when",
    "should", "every", "each", "any", "out", "memory", "error", "failed", "unsupported",
    "too many", "later", "more", "than", "less", "least", "most", "bytes",
    "characters", "number", "list", "between",
)


def words_pattern(words):
    """A pattern of the words and phrases (a space matches any run of
    white space), the longest first, in a group, on word boundaries."""
    return (r"\b(" + "|".join(re.escape(w).replace(r"\ ", r"\s+")
                              for w in sorted(words, key=len, reverse=True)) + r")\b")


_WORDS = re.compile(words_pattern(ENGLISH))
_QUOTED = re.compile(r"(?<!\w)'[^']*'(?!\w)|\"[^\"]*\"|«[^»]*»|“[^”]*”")
_NAMES = re.compile(r"(?:/[\w.{}-]+)+|\b[\w-]*[_.][\w.-]*\b|\b[A-Z][\w]*-[\w-]+\b|%\w+")


def english_words(text):
    if not isinstance(text, str):
        return []
    t = _NAMES.sub(" ", _QUOTED.sub(" ", text))
    return sorted(set(m.group(1) for m in _WORDS.finditer(t.lower())))
