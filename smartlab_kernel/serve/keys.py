"""API keys: make them, hash them, and check a key against its hash.

A key is 72 hex digits (36 random bytes, as tiled and the queueserver HTTP
server make them). The configuration file holds only its *hash*,
``"<first eight hex digits>:<sha256 of the key's bytes>"``: both servers
store keys the same way (first eight digits to find the row, SHA-256 to
check it), so the hash is all they need and a leaked configuration file
gives no key away.
"""

from __future__ import annotations

import hashlib
import re
import secrets

KEY_BYTES = 36
_HASH_PATTERN = re.compile(r"^[0-9a-f]{8}:[0-9a-f]{64}$")


def new_key() -> str:
    """Return a fresh random API key (72 lowercase hex digits)."""
    return secrets.token_hex(KEY_BYTES)


def hash_key(key: str) -> str:
    """Return the hash of ``key`` as written in the configuration file.

    Raises:
        ValueError: If ``key`` is not hex.
    """
    try:
        secret = bytes.fromhex(key)
    except ValueError as exc:
        raise ValueError(f"an API key is hex digits, got {key[:12]!r}...") from exc
    return f"{key[:8].lower()}:{hashlib.sha256(secret).hexdigest()}"


def is_key_hash(text: str) -> bool:
    """Whether ``text`` looks like what :func:`hash_key` returns."""
    return bool(_HASH_PATTERN.match(text))


def split_key_hash(key_hash: str) -> tuple[str, bytes]:
    """Return ``(first_eight, sha256_digest)`` of a key hash, as the servers store them."""
    first_eight, digest = key_hash.split(":", 1)
    return first_eight, bytes.fromhex(digest)


def key_matches(key: str, key_hash: str) -> bool:
    """Whether ``key`` is the key that ``key_hash`` was made from (constant time)."""
    try:
        return secrets.compare_digest(hash_key(key), key_hash)
    except ValueError:
        return False
