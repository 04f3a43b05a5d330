"""Printable, unambiguous short ids for samples (``S-7KQ2M``).

The alphabet leaves out characters that are easy to confuse when read off a
label or typed by hand (``0/O``, ``1/I/L``, ``U/V``), so an id survives a
handwritten tube label and a barcode scanner alike.
"""

from __future__ import annotations

import re
import secrets

#: Characters used in sample ids: digits 2-9 and letters without I, L, O, U.
SAMPLE_ID_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
#: Prefix of every sample id.
SAMPLE_ID_PREFIX = "S-"
#: Number of random characters after the prefix (30**5, about 24 million ids).
SAMPLE_ID_LENGTH = 5

_SAMPLE_ID_RE = re.compile(rf"^S-[{SAMPLE_ID_ALPHABET}]{{{SAMPLE_ID_LENGTH}}}$")


def new_sample_id() -> str:
    """Return a fresh random sample id such as ``S-7KQ2M``.

    Uniqueness against the store is checked by the caller (the store retries
    on a collision).

    Returns:
        A sample id drawn from :data:`SAMPLE_ID_ALPHABET`.
    """
    body = "".join(secrets.choice(SAMPLE_ID_ALPHABET) for _ in range(SAMPLE_ID_LENGTH))
    return SAMPLE_ID_PREFIX + body


def normalize_sample_id(text: str) -> str:
    """Return ``text`` as a canonical sample id: stripped and upper case.

    Args:
        text: An id as typed or scanned, e.g. ``" s-7kq2m "``.

    Returns:
        The canonical id, e.g. ``"S-7KQ2M"``. Ids in another format (for
        example ones given explicitly at registration) are returned stripped.
    """
    candidate = text.strip().upper()
    return candidate if _SAMPLE_ID_RE.match(candidate) else text.strip()


def is_sample_id(text: str) -> bool:
    """Return whether ``text`` is a well-formed generated sample id.

    Args:
        text: The text to check.

    Returns:
        True for ids like ``S-7KQ2M`` made of :data:`SAMPLE_ID_ALPHABET`.
    """
    return bool(_SAMPLE_ID_RE.match(text))
