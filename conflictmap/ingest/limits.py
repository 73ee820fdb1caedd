"""How large a file ingestion takes (INGEST_MAX_UPLOAD_BYTES), and how a refusal is said: one
rule for the admin's upload form (enforced while the upload arrives, uploads.py) and for the
`ingest` command's files."""

from __future__ import annotations

from django.conf import settings


def max_upload_bytes() -> int:
    return int(getattr(settings, "INGEST_MAX_UPLOAD_BYTES", 50 * 1024 * 1024))


def too_large(name: str, size: int | None = None) -> str:
    """The refusal, the same wherever a file comes in."""
    limit = max_upload_bytes()
    what = f"is {size:,} bytes" if size is not None else "is larger than that"
    return (
        f"{name or 'The file'} {what}: files of at most {limit:,} bytes "
        f"({limit / 2**20:g} MiB, INGEST_MAX_UPLOAD_BYTES) are taken"
    )
