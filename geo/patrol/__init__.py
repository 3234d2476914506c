"""Patrols (巡查): the walking network, daily plans, village-day sectors and GPS tracks."""

from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Asia/Shanghai")
"""Local time of plans, windows and patrol hours."""
