"""Single-line text: names and titles that may end up in a mail header (a From or To display
name, a Subject) or any other one-line place (a file name, a CSV cell, a log line).

A single-line value refuses:

- every control character (Unicode category Cc): CR, LF, TAB, VT, FF, the other C0 controls,
  DEL and the C1 controls, NEL (U+0085) among them;
- the Unicode line and paragraph separators U+2028 and U+2029 (categories Zl and Zp);
- the bidirectional embedding, override and isolate controls U+202A-U+202E and U+2066-U+2069,
  which let a name display as something else ("Trojan Source" style spoofing of a sender).

TAB is refused too: it has no use in a name and folds a header like a space would. Text written
in right-to-left scripts needs none of the refused characters; the implicit marks U+200E/U+200F
and the joiners used by emoji (U+200D) stay allowed. Multi-line free text (notes, comments) is
not single-line and keeps its newlines.
"""

from __future__ import annotations

import re

# Categories Cc (U+0000-U+001F, U+007F-U+009F), Zl (U+2028) and Zp (U+2029), in full.
_BREAKING = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
_BIDI = r"\u202a-\u202e\u2066-\u2069"
_REFUSED = re.compile(f"[{_BREAKING}{_BIDI}]")
_BREAK_RUN = re.compile(f" *[{_BREAKING}]+ *")
_BIDI_CONTROL = re.compile(f"[{_BIDI}]")


def single_line(value: str) -> str:
    """Validator: ``value`` unchanged, or ``ValueError`` saying what is refused."""
    found = _REFUSED.search(value)
    if found is None:
        return value
    if _BIDI_CONTROL.match(found.group(0)):
        raise ValueError("bidirectional control characters are not allowed")
    raise ValueError("line breaks and control characters are not allowed")


def header_text(value: str) -> str:
    """``value`` made safe for a mail header: bidirectional controls dropped, each run of line
    breaks and control characters (with the spaces around it) turned into one space, ends
    trimmed. Used on display names and subjects, whose stored values may predate validation."""
    kept = _BIDI_CONTROL.sub("", str(value))
    return _BREAK_RUN.sub(" ", kept).strip()


def is_single_line(value: str) -> bool:
    return _REFUSED.search(value) is None
