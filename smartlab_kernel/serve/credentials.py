"""The lab's own secrets, made once and kept in ``<state_dir>/credentials`` (0700, files 0600).

* The RE Manager's 0MQ CURVE key pair. The manager encrypts its control
  socket with the private key; a client needs the *public* key to talk to
  it at all. The queueserver has no client authentication beyond that, so
  the public key is what lets an administrator drive the manager with the
  stock ``qserver`` CLI, and it is kept as private as the private key::

      export QSERVER_ZMQ_PUBLIC_KEY=$(cat <state_dir>/credentials/zmq-control.public)
      qserver -a tcp://127.0.0.1:60615 status

  It used to be made afresh at each start and stored nowhere, so nobody but
  the lab's own HTTP server could reach the manager.
* The password of the lab's Redis account (see
  :func:`~smartlab_kernel.serve.provision.provision_redis`).

Both are made the first time the lab starts and reused afterwards (delete
the file to get a new one at the next start). The folder and files are
private whatever the configuration's ``umask``: these are keys, not data.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: The folder, under the state folder, that holds the lab's secrets.
CREDENTIALS_DIR = "credentials"
_ZMQ_PUBLIC = "zmq-control.public"
_ZMQ_PRIVATE = "zmq-control.private"
_REDIS_PASSWORD = "redis-password"


@dataclass(frozen=True)
class ZmqKeyPair:
    """The RE Manager's 0MQ CURVE keys (Z85 text, as ``qserver-zmq-keys`` prints them)."""

    public: str
    private: str


def credentials_dir(state_path: Path) -> Path:
    """Return ``<state_path>/credentials``, created 0700 if missing (its mode is reset to 0700)."""
    folder = state_path / CREDENTIALS_DIR
    state_path.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.mkdir(exist_ok=True, mode=0o700)
    folder.chmod(0o700)
    return folder


def zmq_public_key_path(state_path: Path) -> Path:
    """Where the public 0MQ key an administrator gives ``qserver`` is kept."""
    return state_path / CREDENTIALS_DIR / _ZMQ_PUBLIC


def redis_password_path(state_path: Path) -> Path:
    """Where the password of the lab's Redis account is kept."""
    return state_path / CREDENTIALS_DIR / _REDIS_PASSWORD


def redis_user(prefix: str) -> str:
    """The name of the lab's Redis account for the queue key ``prefix``."""
    return f"{prefix}-lab"


def _write_secret(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as a 0600 file, atomically (never a half-written key)."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, f"{text}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, path)


def _read_secret(path: Path) -> str | None:
    """Return the secret in ``path`` (mode reset to 0600), or ``None`` if there is none."""
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    path.chmod(0o600)
    return text or None


def _kept(path: Path, make: Callable[[], str]) -> str:
    found = _read_secret(path)
    if found is None:
        found = make()
        _write_secret(path, found)
    return found


def zmq_key_pair(state_path: Path) -> ZmqKeyPair:
    """Return the lab's 0MQ key pair, made and saved the first time.

    Raises:
        ValueError: If the public key is there without its private key
            (restore it, or delete both files to make a new pair).
    """
    import zmq

    folder = credentials_dir(state_path)
    private = _read_secret(folder / _ZMQ_PRIVATE)
    if private is None:
        if _read_secret(folder / _ZMQ_PUBLIC) is not None:
            raise ValueError(
                f"{folder} holds {_ZMQ_PUBLIC} without {_ZMQ_PRIVATE}: restore it, or delete "
                f"{_ZMQ_PUBLIC} to make a new pair (administrators then need the new public key)"
            )
        private = zmq.curve_keypair()[1].decode()
        _write_secret(folder / _ZMQ_PRIVATE, private)
    public = zmq.curve_public(private.encode()).decode()
    if _read_secret(folder / _ZMQ_PUBLIC) != public:
        _write_secret(folder / _ZMQ_PUBLIC, public)
    return ZmqKeyPair(public, private)


def redis_password(state_path: Path) -> str:
    """Return the password of the lab's Redis account, made and saved the first time."""
    credentials_dir(state_path)
    return _kept(redis_password_path(state_path), lambda: secrets.token_hex(32))
