"""Routes filled in by the hazards work of issue 4."""

from fastapi import APIRouter

router = APIRouter()
