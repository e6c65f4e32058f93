"""Message templates: ``{headline}``-style placeholders from a fixed list of fields, and nothing else.

A template is plain text with placeholders. A placeholder is a field name from :data:`FIELDS` in
braces; ``{{`` and ``}}`` stand for literal braces. There is no attribute access, no indexing, no
conversion or format spec and no expression: ``{headline.__class__}``, ``{body[0]}``,
``{sent:%Y}`` and ``{headline!r}`` are refused when the channel file is read, so a template can
never run code or reach anything but the field values it names. Values are inserted as they are
and never read as templates themselves, so a message whose headline contains ``{ack_link}`` prints
those characters.

Values are escaped for where the text goes (:class:`Escape`): as they are for text bodies and SMS,
header-safe for an email subject (a value with a CR, LF or NUL is refused). Structured channels
(webhooks, SMS gateways) put the rendered text into a document and JSON-encode the whole.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping

import attrs

from cssc_core.errors import CsscError, ValidationError

__all__ = [
    "ACK_FIELDS",
    "CONTACT_FIELDS",
    "ESCALATION_FIELDS",
    "FIELDS",
    "MESSAGE_FIELDS",
    "Escape",
    "HeaderInjectionError",
    "Template",
]

MESSAGE_FIELDS = frozenset(
    {
        "message_id",
        "marking",
        "status",
        "type",
        "category",
        "urgency",
        "severity",
        "certainty",
        "headline",
        "body",
        "instruction",
        "sender",
        "sent",
        "expires",
    }
)
"""Fields of the message: the same in every copy of it."""

CONTACT_FIELDS = frozenset({"contact_id", "contact_name"})
"""Fields of the receiving contact."""

ACK_FIELDS = frozenset({"ack_link", "ack_code", "ack"})
"""The acknowledgement link, the reply code, and ``ack``: a ready-made line with whichever applies."""

ESCALATION_FIELDS = frozenset({"unacknowledged"})
"""For escalation notices: the names of the contacts who did not acknowledge."""

FIELDS = MESSAGE_FIELDS | CONTACT_FIELDS | ACK_FIELDS | ESCALATION_FIELDS
"""Every name a placeholder may use."""

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"[a-z_]+")


class HeaderInjectionError(CsscError, ValueError):
    """A value bound for a mail header holds a line break or NUL, which could add headers."""


class Escape(enum.Enum):
    """How values are escaped for the place the rendered text goes."""

    TEXT = "text"
    """As they are: plain-text bodies and SMS."""
    HEADER = "header"
    """One header line: a value holding CR, LF or NUL is refused (:class:`HeaderInjectionError`)."""

    def apply(self, value: str) -> str:
        """``value`` escaped this way."""
        if self is Escape.HEADER and ("\r" in value or "\n" in value or "\0" in value):
            raise HeaderInjectionError("a header value may not contain a line break or NUL")
        return value


@attrs.frozen
class Template:
    """A parsed template: literal text and the field names between.

    Attributes:
        source: The template as written.
        parts: Literal strings at even positions, field names at odd positions.
    """

    source: str
    parts: tuple[str, ...]

    @classmethod
    def parse(cls, source: str, path: str = "$", allowed: frozenset[str] = FIELDS) -> Template:
        """Parses ``source``; every placeholder must be one of ``allowed``.

        Raises:
            ValidationError: listing every bad placeholder, at ``path``.
        """
        parts: list[str] = []
        literal: list[str] = []
        problems: list[str] = []
        position = 0
        for match in _TOKEN.finditer(source):
            literal.append(source[position : match.start()])
            position = match.end()
            token = match.group(0)
            if token in ("{{", "}}"):
                literal.append(token[0])
                continue
            name = match.group(1)
            if name is None:
                problems.append(f"unmatched {token!r} at character {match.start()} (write {token * 2})")
            elif not _NAME.fullmatch(name):
                problems.append(
                    f"{{{name}}} is not a placeholder: only a field name, no attribute, index, "
                    "conversion or format"
                )
            elif name not in allowed:
                problems.append(f"unknown field {{{name}}} (fields: {', '.join(sorted(allowed))})")
            else:
                parts.append("".join(literal))
                parts.append(name)
                literal = []
        literal.append(source[position:])
        parts.append("".join(literal))
        if problems:
            raise ValidationError.single(path, "; ".join(problems))
        return cls(source, tuple(parts))

    @property
    def names(self) -> frozenset[str]:
        """The fields the template uses."""
        return frozenset(self.parts[1::2])

    def partial(self, values: Mapping[str, str], escape: Escape = Escape.TEXT) -> Template:
        """The template with the fields in ``values`` filled in and the others left as placeholders.

        This is how a message is rendered once and then personalised per recipient cheaply.
        """
        parts: list[str] = [self.parts[0]]
        for index in range(1, len(self.parts), 2):
            name = self.parts[index]
            if name in values:
                parts[-1] += escape.apply(values[name]) + self.parts[index + 1]
            else:
                parts.extend((name, self.parts[index + 1]))
        return Template(self.source, tuple(parts))

    def render(self, values: Mapping[str, str], escape: Escape = Escape.TEXT) -> str:
        """The text with every placeholder filled from ``values`` (a missing one is empty)."""
        parts = self.parts
        if len(parts) == 1:
            return parts[0]
        out = [parts[0]]
        for index in range(1, len(parts), 2):
            out.append(escape.apply(values.get(parts[index], "")))
            out.append(parts[index + 1])
        return "".join(out)
