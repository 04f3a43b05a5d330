"""The RE Manager as the lab starts it: the queueserver's own, its Redis password kept out of logs.

``python -m smartlab_kernel.serve.re_manager --config re-manager.yml ...``
runs bluesky-queueserver's ``start_manager`` with the same arguments. The
manager logs its whole configuration at start, ``redis_addr`` included, and
the lab's ``redis_addr`` carries the password of its Redis account
(``user:password@host:port``, see
:func:`~smartlab_kernel.serve.provision.provision_redis`). Logs get shared
when something goes wrong, so every log record of this process and of the
processes it forks (the manager, the RE worker) has the password replaced
by ``*****`` before it is written.
"""

from __future__ import annotations

import logging
import os
from typing import Any

#: Environment variable with the lab's Redis address (``user:password@host:port``).
REDIS_ADDRESS_ENV = "SMARTLAB_SERVE_REDIS_ADDRESS"
MASK = "*****"


def redis_password_of(address: str) -> str | None:
    """The password in ``[redis://]user:password@host:port``, if there is one."""
    userinfo, at, _ = address.split("://", 1)[-1].rpartition("@")
    if not at or ":" not in userinfo:
        return None
    return userinfo.split(":", 1)[1] or None


def redact_logs(secret: str) -> None:
    """Make every log record created from now on show ``secret`` as :data:`MASK`."""
    make_record = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: logging reports it when it is written
            return record
        if secret in message:
            record.msg, record.args = message.replace(secret, MASK), None
        return record

    logging.setLogRecordFactory(factory)


def main() -> None:
    """Run the queueserver's ``start_manager`` (its arguments are this process's)."""
    password = redis_password_of(os.environ.get(REDIS_ADDRESS_ENV, ""))
    if password:
        redact_logs(password)
    from bluesky_queueserver.manager.start_manager import start_manager

    start_manager()


if __name__ == "__main__":
    main()
