"""Slugs made from names for rows that imports and loaders create."""

from __future__ import annotations

from django.db import models
from django.utils.text import slugify

# Characters kept free at the end of the field for the "-N" that tells same-named rows apart.
SUFFIX_ROOM = 10


def unique_slug(model: type[models.Model], name: str, *, fallback: str, field: str = "slug") -> str:
    """A slug of `name` that no row of `model` has yet: slugify(name), cut to leave room for a
    suffix, then "-2", "-3", ... after it when taken; `fallback` when `name` has no ASCII letter
    or digit (an Arabic name, say).

    Two transactions may pick the same slug at once: the field's unique constraint refuses the
    second, so callers that can race create inside a transaction and retry or report it."""
    max_length = model._meta.get_field(field).max_length
    base = slugify(name)[: max_length - SUFFIX_ROOM] or fallback
    taken = set(
        model._default_manager.filter(**{f"{field}__startswith": base}).values_list(
            field, flat=True
        )
    )
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug
