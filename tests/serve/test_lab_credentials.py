"""The lab's own secrets and the settings around them (no services needed).

The services themselves are in test_stock_clients.py (``qserver`` with the
kept key, the info socket off) and test_redis_lockdown.py (Redis).
"""

from __future__ import annotations

import logging
import stat
from pathlib import Path
from typing import Any

import pytest

from smartlab_kernel.serve import ConfigError, hash_key, new_key, parse_config
from smartlab_kernel.serve.credentials import (
    redis_password,
    redis_password_path,
    redis_user,
    zmq_key_pair,
    zmq_public_key_path,
)
from smartlab_kernel.serve.provision import redis_acl_rules
from smartlab_kernel.serve.re_manager import MASK, redact_logs, redis_password_of
from smartlab_kernel.serve.service_files import re_manager_config


def config(**top: Any) -> Any:
    user = {"name": "ta", "role": "instructor", "key_hash": hash_key(new_key())}
    return parse_config({"users": [user], **top})


def test_the_zmq_key_is_made_once_kept_private_and_reused(tmp_path: Path) -> None:
    state = tmp_path / "lab"
    first = zmq_key_pair(state)
    assert zmq_key_pair(state) == first
    public = zmq_public_key_path(state)
    assert public.read_text().strip() == first.public
    folder = public.parent
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    public.unlink()  # a lost public key is made again from the private one
    assert zmq_key_pair(state) == first
    (folder / "zmq-control.private").unlink()
    with pytest.raises(ValueError, match=r"without zmq-control\.private"):
        zmq_key_pair(state)


def test_the_redis_password_is_made_once_and_kept_private(tmp_path: Path) -> None:
    state = tmp_path / "lab"
    password = redis_password(state)
    assert len(password) == 64 and redis_password(state) == password
    assert stat.S_IMODE(redis_password_path(state).stat().st_mode) == 0o600


def test_the_labs_redis_account_reaches_its_own_keys_only() -> None:
    rules = redis_acl_rules("smartlab", "secret")
    assert rules[:2] == ["reset", "on"] and ">secret" in rules
    assert [r for r in rules if r.startswith("~")] == ["~smartlab_*", "~smartlab:*"]
    assert "resetchannels" in rules
    assert rules.index("-@all") < rules.index("+@list") < rules.index("-@admin")
    assert redis_user("smartlab") == "smartlab-lab"


def test_the_info_socket_is_off_and_redis_auth_stays_out_of_the_command_line() -> None:
    lab = config()
    assert lab.queue.publish_console is False
    assert lab.redis.admin_user == "default" and lab.redis.admin_password_file == ""
    network = re_manager_config(lab, "smartlab-lab:pw@127.0.0.1:6379")["network"]
    assert network["zmq_publish_console"] is False
    assert network["redis_addr"] == "smartlab-lab:pw@127.0.0.1:6379"
    assert config(queue={"publish_console": True}).queue.publish_console is True


@pytest.mark.parametrize("prefix", ["", "lab*", "two words", "_x"])
def test_a_redis_prefix_must_be_a_plain_name(prefix: str) -> None:
    with pytest.raises(ConfigError, match=r"redis\.prefix"):
        config(redis={"prefix": prefix})


def test_the_managers_log_never_shows_the_redis_password(caplog: pytest.LogCaptureFixture) -> None:
    assert redis_password_of("smartlab-lab:s3cret@127.0.0.1:6379") == "s3cret"
    assert redis_password_of("redis://u:p@h:1/0") == "p"
    assert redis_password_of("127.0.0.1:6379") is None
    factory = logging.getLogRecordFactory()
    try:
        redact_logs("s3cret")
        with caplog.at_level(logging.INFO):
            logging.getLogger("bluesky_queueserver.test").info("redis_addr: %r", "u:s3cret@h:1")
        assert caplog.messages == [f"redis_addr: 'u:{MASK}@h:1'"]
    finally:
        logging.setLogRecordFactory(factory)
