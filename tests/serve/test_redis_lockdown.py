"""The lab's Redis is not open to local users (issue 16 item 5).

Redis is set up as docs/serve asks of a shared machine: its default user
needs the administrator's password (an ACL file, so accounts survive a
restart). The lab makes its own ACL account at start and uses nothing
else; a local user without the lab's password can neither read nor inject
queue items (before: ``redis-cli rpush <prefix>_plan_queue ...`` ran a plan
under any student's name), and the lab's account reaches its own keys only.
"""

from __future__ import annotations

import json
import secrets
import shutil
import stat
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from smartlab_kernel.serve.sandbox import RedisProcess, Sandbox
from smartlab_kernel.session import Lab

from .conftest import require_packages, require_service

pytestmark = pytest.mark.slow


def injected_item(user: str) -> dict[str, Any]:
    """A queue item as the RE Manager stores it, claiming to be ``user``'s."""
    return {
        "item_type": "plan",
        "name": "measure",
        "args": [],
        "kwargs": {"hold_s": 10.0},
        "item_uid": str(uuid.uuid4()),
        "user": user,
        "user_group": "primary",
    }


def test_a_redis_write_without_the_labs_credentials_is_refused(tmp_path: Path) -> None:
    import redis

    from smartlab_kernel.serve.credentials import redis_password_path, redis_user

    require_packages()
    require_service("PostgreSQL", "127.0.0.1", 5432)
    admin_password = secrets.token_hex(16)
    server = RedisProcess(tmp_path / "redis", admin_password=admin_password)
    server.start()
    lab = Sandbox(
        tmp_path / "server",
        students=2,
        redis_address=server.address,
        redis_admin_password=admin_password,
    )
    try:
        lab.start()
        prefix = lab.config.redis.prefix
        queue_key = f"{prefix}_plan_queue"
        stranger = redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=5)
        attempts: dict[str, Callable[[], Any]] = {
            "inject": lambda: stranger.rpush(queue_key, json.dumps(injected_item("student02"))),
            "read": lambda: stranger.lrange(queue_key, 0, -1),
            "list keys": lambda: stranger.keys("*"),
        }
        for what, attempt in attempts.items():
            with pytest.raises(redis.exceptions.AuthenticationError):
                attempt()
                pytest.fail(f"{what} without credentials was allowed")
        redis_cli = shutil.which("redis-cli")
        if redis_cli is not None:  # exactly what the issue did
            cli = subprocess.run(
                [
                    redis_cli,
                    "-p",
                    str(server.port),
                    "rpush",
                    queue_key,
                    json.dumps(injected_item("x")),
                ],
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert "NOAUTH" in cli.stdout + cli.stderr, cli

        # the lab's account: its password is private, it reaches the lab's keys only
        password_file = redis_password_path(lab.config.state_path)
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        own = redis.Redis(
            host="127.0.0.1",
            port=server.port,
            username=redis_user(prefix),
            password=password_file.read_text().strip(),
            socket_timeout=5,
        )
        assert own.llen(queue_key) == 0
        for what, attempt in {
            "write elsewhere": lambda: own.set("not_the_lab", "x"),
            "read elsewhere": lambda: own.get(f"other{prefix}_plan_queue"),
            "list accounts": lambda: own.acl_list(),
            "read the configuration": lambda: own.config_get("*"),
            "flush": lambda: own.flushall(),
        }.items():
            with pytest.raises(redis.exceptions.NoPermissionError):
                attempt()
                pytest.fail(f"the lab's account may {what}")

        # and the lab works through it: the student's plan runs under their name
        student = Lab.connect(lab.url, api_key=lab.keys["student01"])
        run = student.submit("measure", temperature_c=35.0, hold_s=10.0)
        student.wait(timeout=90)
        assert run.state == "finished"
        assert student.catalog[run.uids[0]].metadata["start"]["operator"] == "student01"

        # the password is in no process list (anyone can read that) and in no log
        password = password_file.read_text().strip()
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                assert password.encode() not in cmdline.read_bytes(), cmdline
            except OSError:
                continue  # a process that ended meanwhile
        for log in (lab.config.state_path / "logs").iterdir():
            assert password not in log.read_text(errors="replace"), log
    finally:
        lab.close()
        server.stop()
