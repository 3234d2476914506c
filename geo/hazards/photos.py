"""Photos of hazards: checked by content (JPEG, PNG, WebP), size-limited, kept on disk.

Files live under ``GRIDLINE_DATA_DIR/photos/<hazard id>/<sha256>.<ext>``; the database keeps
their path, type, size and checksum. A file is written before the row is flushed and removed
again if the row cannot be written, so a failed upload leaves nothing behind. Photos of a hazard
outside the reader's scope are "not found", exactly like those of a missing hazard.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo import models as m
from geo.accounts import Scope
from geo.db import get_settings
from geo.errors import NotFound, PayloadTooLarge, UnsupportedMediaType
from geo.hazards.records import EVERYWHERE, in_scope, load

SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)


def sniff(data: bytes) -> tuple[str, str]:
    """The media type and extension of an accepted image, from its first bytes."""
    for magic, media_type, ext in SIGNATURES:
        if data.startswith(magic):
            return media_type, ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    raise UnsupportedMediaType("photos must be JPEG, PNG or WebP images")


def add_photo(
    session: Session, hazard_id: int, data: bytes, uploaded_by: str, scope: Scope = EVERYWHERE
) -> dict[str, Any]:
    load(session, hazard_id, scope=scope)
    limit = get_settings().photo_max_bytes
    if len(data) > limit:
        raise PayloadTooLarge(f"photo of {len(data)} bytes exceeds the limit of {limit} bytes")
    if not data:
        raise UnsupportedMediaType("the photo is empty")
    media_type, ext = sniff(data)
    digest = hashlib.sha256(data).hexdigest()
    relative = Path("photos") / str(hazard_id) / f"{digest}.{ext}"
    path = get_settings().data_dir / relative
    existed = path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    row = m.HazardPhoto(
        hazard_id=hazard_id,
        path=str(relative),
        content_type=media_type,
        size=len(data),
        sha256=digest,
        uploaded_by=uploaded_by,
    )
    try:
        session.add(row)
        session.flush()
    except Exception:
        if not existed:
            path.unlink(missing_ok=True)
        raise
    return describe(row)


def describe(row: m.HazardPhoto) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": f"/hazards/{row.hazard_id}/photos/{row.id}",
        "content_type": row.content_type,
        "size": row.size,
        "sha256": row.sha256,
        "uploaded_by": row.uploaded_by,
    }


def list_photos(
    session: Session, hazard_id: int, scope: Scope = EVERYWHERE
) -> list[dict[str, Any]]:
    load(session, hazard_id, scope=scope)
    rows = session.scalars(
        select(m.HazardPhoto).where(m.HazardPhoto.hazard_id == hazard_id).order_by(m.HazardPhoto.id)
    )
    return [describe(row) for row in rows]


def photo_file(
    session: Session, hazard_id: int, photo_id: int, scope: Scope = EVERYWHERE
) -> tuple[Path, str]:
    row = session.scalar(
        select(m.HazardPhoto)
        .join(m.Hazard, m.Hazard.id == m.HazardPhoto.hazard_id)
        .where(m.HazardPhoto.id == photo_id, m.Hazard.id == hazard_id, *in_scope(scope))
    )
    if row is None:
        raise NotFound(f"photo {photo_id} of hazard {hazard_id} not found")
    path = get_settings().data_dir / row.path
    if not path.exists():
        raise NotFound(f"photo {photo_id} is missing from the data directory")
    return path, row.content_type
