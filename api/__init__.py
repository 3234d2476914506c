"""Gridline HTTP API (FastAPI) and command line."""
