"""Reading figures out of API payloads for labels and legends."""

from __future__ import annotations


def number(value: object) -> float | None:
    """``value`` as a float when it is a real number (not a bool), else None."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if is_number else None
