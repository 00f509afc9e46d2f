"""A short string matching a regular expression, for schema examples.

Covers what JSON Schema ``pattern`` keywords in the models use: anchors, literals,
escapes (``\\d``, ``\\w``, ``\\s``, ``\\xHH``, ``\\uHHHH``, escaped punctuation),
character classes with ranges (negated too), groups with alternatives, lookaheads, and
the quantifiers ``? * + {n} {n,} {n,m}``. Each repetition takes its minimum, each class
its first member; when ``re`` refuses that string (a lookahead, a ``min_length``), the
sample is retried with one repetition where none was needed and with each class's last
member. Anything else raises ``ValueError``.
"""

from __future__ import annotations

import re
import string

CLASS_ESCAPES = {"d": "1", "w": "a", "s": " "}
PRINTABLE = string.ascii_letters + string.digits + "-_.~"


class _Parser:
    def __init__(self, pattern: str, generous: bool, last: bool) -> None:
        self.text = pattern
        self.pos = 0
        self.generous = generous
        # take the last member of each class (the top of a range) instead of the first
        self.last = last

    def fail(self, why: str) -> ValueError:
        return ValueError(f"pattern {self.text!r} at {self.pos}: {why}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def take(self) -> str:
        char = self.peek()
        self.pos += 1
        return char

    def alternatives(self) -> str:
        """The first alternative of a (sub)pattern; the others are parsed and dropped."""
        first = self.sequence()
        while self.peek() == "|":
            self.take()
            self.sequence()
        return first

    def sequence(self) -> str:
        out: list[str] = []
        while self.peek() not in ("", "|", ")"):
            atom = self.atom()
            low, high = self.quantifier()
            count = low if low or not self.generous else min(1, high if high is not None else 1)
            out.append(atom * count)
        return "".join(out)

    def atom(self) -> str:
        char = self.take()
        if char in "^$":
            return ""
        if char == "(":
            lookahead = self.text.startswith(("?=", "?!"), self.pos)
            if self.text.startswith("?:", self.pos) or lookahead:
                self.pos += 2
            elif self.peek() == "?":
                raise self.fail("only plain, (?:…) and lookahead groups are supported")
            inner = self.alternatives()
            if self.take() != ")":
                raise self.fail("unclosed group")
            # a lookahead consumes nothing; the final check with re says if it holds
            return "" if lookahead else inner
        if char == "[":
            return self.char_class()
        if char == "\\":
            return self.escape()
        if char == ".":
            return "a"
        if char in "*+?{":
            raise self.fail("quantifier without an atom")
        return char

    def escape(self) -> str:
        char = self.take()
        if char in CLASS_ESCAPES:
            return CLASS_ESCAPES[char]
        if char in "xu":
            digits = self.text[self.pos:self.pos + (2 if char == "x" else 4)]
            if not re.fullmatch(r"[0-9A-Fa-f]{2}|[0-9A-Fa-f]{4}", digits):
                raise self.fail(f"malformed \\{char} escape")
            self.pos += len(digits)
            return chr(int(digits, 16))
        if char.isalnum():
            raise self.fail(f"unsupported escape \\{char}")
        return char

    def class_member(self) -> str:
        char = self.take()
        if char == "":
            raise self.fail("unclosed character class")
        return self.escape() if char == "\\" else char

    def char_class(self) -> str:
        start = self.pos - 1
        negated = self.peek() == "^"
        if negated:
            self.take()
        members: list[str] = []
        while True:
            if self.peek() == "]" and members:
                self.take()
                break
            low = high = self.class_member()
            if self.peek() == "-" and self.text[self.pos + 1:self.pos + 2] not in ("]", ""):
                self.take()
                high = self.class_member()
            members.append(max(low, high) if self.last else min(low, high))
        if not negated:
            return members[-1] if self.last else members[0]
        allowed = re.compile(self.text[start:self.pos])
        order = PRINTABLE[::-1] if self.last else PRINTABLE
        found = next((c for c in order if allowed.fullmatch(c)), None)
        if found is None:
            raise self.fail("no printable character outside the negated class")
        return found

    def quantifier(self) -> tuple[int, int | None]:
        char = self.peek()
        if char == "?":
            self.take()
            return 0, 1
        if char == "*":
            self.take()
            return 0, None
        if char == "+":
            self.take()
            return 1, None
        if char == "{":
            match = re.match(r"\{(\d+)(,(\d*))?\}", self.text[self.pos:])
            if not match:
                raise self.fail("malformed {…} quantifier")
            self.pos += match.end()
            low = int(match.group(1))
            if match.group(2) is None:
                return low, low
            return low, int(match.group(3)) if match.group(3) else None
        return 1, 1


def sample(pattern: str, min_length: int = 0) -> str:
    """A string that ``re.search(pattern, …)`` accepts, as short as the pattern allows."""
    for last, generous in ((False, False), (False, True), (True, False), (True, True)):
        parser = _Parser(pattern, generous, last)
        value = parser.alternatives()
        if parser.pos != len(pattern):
            raise parser.fail("unbalanced )")
        if len(value) >= min_length and re.search(pattern, value):
            return value
    raise ValueError(f"no sample of pattern {pattern!r} with at least {min_length} characters")
