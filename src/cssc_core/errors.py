"""The library's exceptions.

Every error raised on purpose derives from :class:`CsscError`, and also from the builtin exception it
resembles, so that callers can catch either. Bad input raises :class:`ValidationError`, which carries
every problem found, each with the path in the document where it was found.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

__all__ = [
    "ConflictError",
    "CsscError",
    "NotARecipientError",
    "NotFoundError",
    "PluginError",
    "Problem",
    "StorageError",
    "UnmatchedReplyError",
    "ValidationError",
]


class CsscError(Exception):
    """Base class of every error that cssc_core raises on purpose."""


@attrs.frozen
class Problem:
    """One thing wrong with an input, and where it is.

    Attributes:
        path: Where in the document, as a JSONPath-like string such as
            ``$.organisations[3].contacts[0].phone``; for files, prefixed with the file name.
        message: What is wrong, in words an operator understands.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ValidationError(CsscError, ValueError):
    """Input was rejected; :attr:`problems` lists every problem found, not just the first.

    Args:
        problems: The problems, in document order.
        source: What was being read (a file name, say), used as a heading in the message.
    """

    def __init__(self, problems: Iterable[Problem], source: str | None = None) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.source = source
        heading = f"{source}: " if source else ""
        count = len(self.problems)
        lines = [f"{heading}{count} problem{'s' if count != 1 else ''} found"]
        lines.extend(f"  {problem}" for problem in self.problems)
        super().__init__("\n".join(lines))

    @classmethod
    def single(cls, path: str, message: str, source: str | None = None) -> ValidationError:
        """Builds an error holding one problem."""
        return cls([Problem(path, message)], source)


class NotFoundError(CsscError, LookupError):
    """A lookup named something (an organisation, a contact, a message) that does not exist."""


class UnmatchedReplyError(NotFoundError):
    """An SMS reply acknowledged nothing: no contact has the number it came from, or its text is not
    the reply code of a message awaiting an acknowledgement from a contact that has.

    The error never repeats the reply's text, which may be a code meant for something else.

    Args:
        message: What went wrong, in words an operator understands.
        known_sender: Whether some contact has the number the reply came from (a portal may want
            to answer strangers differently, or not at all).
    """

    def __init__(self, message: str, *, known_sender: bool = False) -> None:
        super().__init__(message)
        self.known_sender = known_sender


class NotARecipientError(CsscError, LookupError):
    """A contact acted on a message (acknowledged it, say) that it is neither a recipient nor an ISL of."""


class ConflictError(CsscError, ValueError):
    """A write would duplicate something that must be unique (a message id, a delivery's idempotency key)."""


class StorageError(CsscError, RuntimeError):
    """The store cannot do what was asked: a schema it does not know, a database it cannot open."""


class PluginError(CsscError, RuntimeError):
    """A plugin failed to load, or two plugins claim the same backend or channel name."""
