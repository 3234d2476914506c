"""Hazards (安全隐患) and residents' cases: routing, the closed loop, photos, queries."""
