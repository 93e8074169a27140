"""Translate Python regular expressions into equivalent PostgreSQL regular expressions.

The query language's ``~=`` and the ``idPattern`` parameter use Python :mod:`re` syntax and
semantics (as the SQLite backend's ``REGEXP`` function and :mod:`cityos.hub.query_eval` do).
PostgreSQL's ``~`` operator speaks Advanced Regular Expressions (AREs, PostgreSQL manual §9.7.3),
which share most syntax but not all semantics: Python's ``$`` also matches before a final
newline, its ``.`` never matches a newline, ``\\d``/``\\w``/``\\s`` are Unicode-aware, and its
case-insensitive matching folds a few non-ASCII characters onto ASCII letters (U+212A KELVIN
SIGN onto ``k``, U+017F LATIN SMALL LETTER LONG S onto ``s``, U+0130 and U+0131, the dotted
capital and dotless small I, onto ``i``).

:func:`to_are` accepts a conservative subset for which the translation provably matches the same
strings under ``re.search`` and ``~`` in a UTF-8 database, and returns ``None`` for everything
else; the PostgreSQL backend evaluates such patterns in Python on the candidate rows instead.

The subset: literal characters; escaped punctuation, ``\\n`` and ``\\t``; ``.``; ``^`` and ``$``;
groups ``(...)`` and ``(?:...)``; alternation; bracket expressions of literal characters and
ranges; the quantifiers ``*``, ``+``, ``?``, ``{m}``, ``{m,}``, ``{,n}``, ``{m,n}`` (counts up to
255, the ARE limit), greedy or lazy (laziness never changes *whether* a string matches); and a
leading ``(?i)`` when every letter involved is an ASCII letter other than i, k and s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

#: Characters with a meaning of their own in a Python pattern (and in an ARE).
_SPECIAL = frozenset("\\.^$*+?{}[]()|")
#: ARE repetition counts are limited to 255 (``DUPMAX``, PostgreSQL manual §9.7.3.2).
_MAX_COUNT = 255
#: ASCII letters that Python's case-insensitive matching also pairs with non-ASCII characters.
_FOLDED_LETTERS = frozenset("iksIKS")
_COUNT = re.compile(r"\{([0-9]*)(,?)([0-9]*)\}")


class _Untranslatable(Exception):
    """The pattern uses something outside the translatable subset."""


@dataclass
class _Translator:
    pattern: str
    ignore_case: bool
    pos: int = 0

    def peek(self) -> str:
        return self.pattern[self.pos] if self.pos < len(self.pattern) else ""

    def check_letter(self, char: str) -> None:
        """Under ``(?i)`` only case pairs that both engines fold alike are allowed."""
        if self.ignore_case and (
            not char.isascii() or (char.isalpha() and char in _FOLDED_LETTERS)
        ):
            raise _Untranslatable

    def alternation(self, depth: int) -> str:
        branches = [self.sequence(depth)]
        while self.peek() == "|":
            self.pos += 1
            branches.append(self.sequence(depth))
        return "|".join(branches)

    def sequence(self, depth: int) -> str:
        parts: list[str] = []
        while self.pos < len(self.pattern) and self.peek() not in "|)":
            atom, quantifiable = self.atom(depth)
            quantifier = self.quantifier()
            if quantifier and not quantifiable:
                raise _Untranslatable
            parts.append(atom + quantifier)
        return "".join(parts)

    def atom(self, depth: int) -> tuple[str, bool]:
        char = self.peek()
        self.pos += 1
        if char == "(":
            if self.pattern.startswith("?:", self.pos):
                self.pos += 2
            elif self.peek() == "?":
                raise _Untranslatable  # lookarounds, named groups, inline flags...
            inner = self.alternation(depth + 1)
            if self.peek() != ")":
                raise _Untranslatable
            self.pos += 1
            return f"(?:{inner})", True
        if char == ".":
            return "[^\n]", True
        if char == "^":
            return "^", False
        if char == "$":
            # Python's $ also matches just before a newline that ends the string.
            return "(?=\n?$)", False
        if char == "[":
            return self.bracket(), True
        if char == "\\":
            return _are_char(self.escape()), True
        if char in _SPECIAL:
            raise _Untranslatable  # a bare ], {, } or a quantifier with nothing to repeat
        self.check_letter(char)
        return _are_char(char), True

    def escape(self) -> str:
        """The literal character of an escape; anything else is untranslatable."""
        char = self.peek()
        self.pos += 1
        if char == "n":
            return "\n"
        if char == "t":
            return "\t"
        if char and char.isascii() and not char.isalnum() and char.isprintable():
            return char
        raise _Untranslatable

    def quantifier(self) -> str:
        char = self.peek()
        if char in ("*", "+", "?"):
            self.pos += 1
            text = char
        elif char == "{":
            match = _COUNT.match(self.pattern, self.pos)
            if match is None or not (match.group(1) or match.group(3)):
                raise _Untranslatable  # Python reads such braces literally; keep it simple
            low, comma, high = match.groups()
            low_n = int(low) if low else 0
            if low_n > _MAX_COUNT or (high and int(high) > _MAX_COUNT):
                raise _Untranslatable
            self.pos = match.end()
            text = "{" + str(low_n) + comma + high + "}"
        else:
            return ""
        if self.peek() == "?":
            self.pos += 1  # lazy: same set of matching strings
        if self.peek() in ("+", "*", "?", "{"):
            raise _Untranslatable  # possessive quantifiers change what matches
        return text

    def bracket(self) -> str:
        negate = self.peek() == "^"
        if negate:
            self.pos += 1
        items: list[str] = []
        first = True
        while True:
            char = self.peek()
            if not char:
                raise _Untranslatable
            if char == "]" and not first:
                self.pos += 1
                break
            first = False
            low = self.class_char()
            if self.peek() == "-" and self.pattern[self.pos + 1 : self.pos + 2] not in ("]", ""):
                self.pos += 1
                high = self.class_char()
                if ord(low) > ord(high):
                    raise _Untranslatable
                if self.ignore_case and not (low.isdigit() and high.isdigit()):
                    raise _Untranslatable
                items.append(_are_char(low) + "-" + _are_char(high))
            else:
                items.append(_are_char(low))
        return "[" + ("^" if negate else "") + "".join(items) + "]"

    def class_char(self) -> str:
        char = self.peek()
        self.pos += 1
        if char == "\\":
            char = self.escape()
        elif char == "[":
            raise _Untranslatable  # Python warns of future set operations; ARE has [: [. [=
        self.check_letter(char)
        return char


def _are_char(char: str) -> str:
    """One literal character, written so that no ARE syntax can claim it."""
    if char.isascii() and char.isalnum():
        return char
    code = ord(char)
    if code == 0 or 0xD800 <= code <= 0xDFFF:
        raise _Untranslatable  # no PostgreSQL text holds NUL or a lone surrogate
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


@lru_cache(maxsize=1024)
def to_are(pattern: str) -> str | None:
    """An ARE that matches exactly the strings ``pattern`` matches with :func:`re.search`.

    Parameters
    ----------
    pattern
        A Python regular expression (already known to compile).

    Returns
    -------
    str or None
        The ARE for PostgreSQL's ``~`` operator in a UTF-8 database, or None when the pattern
        is outside the translatable subset (see the module documentation).
    """
    ignore_case = pattern.startswith("(?i)")
    translator = _Translator(pattern, ignore_case, 4 if ignore_case else 0)
    try:
        body = translator.alternation(0)
    except (_Untranslatable, ValueError, RecursionError):
        return None
    if translator.pos != len(pattern):
        return None  # an unbalanced ')'
    return ("(?i)" if ignore_case else "") + body
