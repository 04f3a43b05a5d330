"""Encode Bluesky documents (with numpy arrays inside) to bytes and back."""

from __future__ import annotations

from typing import Any

import msgpack
import numpy as np

_NDARRAY = 1


def _default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        array = np.ascontiguousarray(obj)
        if array.dtype.hasobject:
            return array.tolist()
        header = msgpack.packb([array.dtype.str, list(array.shape)])
        return msgpack.ExtType(_NDARRAY, header + array.tobytes())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, tuple | set | frozenset):
        return list(obj)
    raise TypeError(f"cannot store a {type(obj).__name__} in a document: {obj!r}")


def _ext_hook(code: int, data: bytes) -> Any:
    if code != _NDARRAY:
        return msgpack.ExtType(code, data)
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(data)
    dtype, shape = unpacker.unpack()
    offset = unpacker.tell()
    return np.frombuffer(data[offset:], dtype=np.dtype(dtype)).reshape(shape).copy()


def encode(obj: Any) -> bytes:
    """Return ``obj`` (JSON-like, numpy arrays allowed) as msgpack bytes."""
    return msgpack.packb(obj, default=_default, use_bin_type=True)


def decode(data: bytes) -> Any:
    """Return the object :func:`encode` turned into ``data``."""
    return msgpack.unpackb(data, raw=False, ext_hook=_ext_hook, strict_map_key=False)
