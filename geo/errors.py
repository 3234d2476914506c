"""Domain exceptions; api/ maps each class to one HTTP status in one place."""

from __future__ import annotations

from dataclasses import dataclass


class GridlineError(Exception):
    """Base of every error the domain raises on purpose."""


class NotFound(GridlineError):
    """A referenced object does not exist (404)."""


class Unauthorized(GridlineError):
    """No credentials, or credentials that are wrong, expired or revoked (401)."""


class Forbidden(GridlineError):
    """The account is known but its role may not do this (403)."""


class TooManyRequests(GridlineError):
    """The account wrote faster than its rate limit allows (429)."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class InvalidInput(GridlineError):
    """Input that cannot be accepted as given (422)."""


class BadRequest(InvalidInput):
    """A query parameter that cannot be understood, where a standard asks for 400 (OGC API)."""


class Conflict(GridlineError):
    """The request clashes with the current state, e.g. a duplicate code (409)."""


class PreconditionFailed(GridlineError):
    """The If-Match version is not the current one: someone changed the record (412)."""


class PreconditionRequired(GridlineError):
    """An update came without If-Match (428)."""


class PayloadTooLarge(GridlineError):
    """An upload is larger than allowed (413)."""


class UnsupportedMediaType(GridlineError):
    """An upload of a type that is not accepted (415)."""


@dataclass(frozen=True)
class FeatureProblem:
    """One bad feature of an import: its position, a label and the reason."""

    index: int
    label: str
    reason: str

    def __str__(self) -> str:
        return f"feature {self.index}{f' ({self.label})' if self.label else ''}: {self.reason}"


class FeaturesRejected(InvalidInput):
    """A batch of features was refused; nothing was written."""

    def __init__(self, problems: list[FeatureProblem]) -> None:
        self.problems = problems
        head = "; ".join(str(p) for p in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        super().__init__(f"{len(problems)} bad feature(s): {head}{more}")
