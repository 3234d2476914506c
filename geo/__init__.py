"""Gridline domain: models, spatial logic and algorithms (imports nothing from api/ or maps/)."""
