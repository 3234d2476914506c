"""The closed loop of a hazard: report > dispatch > rectify > re-inspect > close.

::

    reported ──> dispatched ──> rectifying ──> rectified ──> verified (closed)
       │  └──────────┴──> rejected, duplicate        └──> rectifying (re-inspection failed)

A dispatched hazard may be dispatched again (to another worker). Verified, rejected and
duplicate are final.
"""

from __future__ import annotations

import datetime as dt

from geo.errors import Conflict
from geo.models import HazardState as S

TRANSITIONS: dict[S, frozenset[S]] = {
    S.REPORTED: frozenset({S.DISPATCHED, S.REJECTED, S.DUPLICATE}),
    S.DISPATCHED: frozenset({S.DISPATCHED, S.RECTIFYING, S.REJECTED, S.DUPLICATE}),
    S.RECTIFYING: frozenset({S.RECTIFIED}),
    S.RECTIFIED: frozenset({S.VERIFIED, S.RECTIFYING}),
    S.VERIFIED: frozenset(),
    S.REJECTED: frozenset(),
    S.DUPLICATE: frozenset(),
}
FINAL = frozenset(state for state, nexts in TRANSITIONS.items() if not nexts)
OPEN = frozenset(TRANSITIONS) - FINAL


def check_transition(current: S, target: S) -> None:
    """Raise Conflict unless ``current -> target`` is allowed."""
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none: it is final"
        raise Conflict(f"cannot go from {current} to {target}; allowed: {allowed}")


def check_reinspection(rectified_by: str | None, inspector: str) -> None:
    """Closing needs a re-inspection by someone other than who reported the fix."""
    if rectified_by is not None and rectified_by.strip().casefold() == inspector.strip().casefold():
        raise Conflict(
            f"closing needs a re-inspection by someone other than {rectified_by}, "
            "who reported the fix"
        )


def deadline(reported_at: dt.datetime, severity: str, days: dict[str, float]) -> dt.datetime:
    """When rectification is due for a severity."""
    return reported_at + dt.timedelta(days=days[severity])
