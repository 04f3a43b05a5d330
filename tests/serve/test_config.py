"""The lab server's configuration file and keys (no services needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from smartlab_kernel.serve import ConfigError, hash_key, load_config, new_key, parse_config
from smartlab_kernel.serve.keys import key_matches


def users(*roles: str) -> list[dict[str, Any]]:
    return [
        {"name": f"u{i}", "role": role, "key_hash": hash_key(new_key())}
        for i, role in enumerate(roles)
    ]


def test_defaults_bind_to_loopback() -> None:
    config = parse_config({"users": users("instructor", "student")})
    assert config.host == "127.0.0.1"
    assert config.queue_url == "http://127.0.0.1:60610"
    assert config.redis.address == "127.0.0.1:6379"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "at least one"),
        ({"users": users("student")}, "role = 'instructor'"),
        ({"users": users("instructor"), "colour": 1}, r"unknown key\(s\) \['colour'\]"),
        ({"users": users("instructor"), "queue": {"http_port": 0}}, "port in 1..65535"),
        ({"users": users("instructor"), "queue": {"http_port": "x"}}, "must be int"),
        ({"users": users("instructor"), "host": "0.0.0.0"}, "not a loopback"),
        ({"users": [{"name": "a", "role": "boss", "key_hash": "x"}]}, "must be one of"),
        ({"users": [{"name": "a", "role": "student", "key_hash": "x"}]}, "key_hash must be"),
        ({"users": users("instructor", "instructor")[:1] * 2}, "unique"),
    ],
)
def test_invalid_configurations_say_what_is_wrong(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(raw)


def test_remote_host_needs_allow_remote() -> None:
    config = parse_config({"users": users("instructor"), "host": "10.0.0.5", "allow_remote": True})
    assert config.host == "10.0.0.5"


def test_load_config_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "lab.toml"
    path.write_text("[queue]\nhttp_port = 'x'\n")
    with pytest.raises(ConfigError, match=r"lab\.toml: queue.http_port must be int"):
        load_config(path)
    with pytest.raises(ConfigError, match="no configuration file"):
        load_config(tmp_path / "missing.toml")


def test_keys_hash_and_match() -> None:
    key = new_key()
    assert len(key) == 72
    assert key_matches(key, hash_key(key))
    assert not key_matches(new_key(), hash_key(key))
    assert not key_matches("not hex", hash_key(key))
