"""The lab's tiled app no longer makes FastAPI rebuild every request's dependencies.

tiled's one dependency override (``get_settings``) made FastAPI inspect the
signature of every dependency on every request (fastapi#8402). Once the
override has run it returns the object ``get_settings`` caches, so
``tiled_app.build`` hides it from FastAPI; tiled still reads it at start-up.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.dependencies import utils as fastapi_utils
from tiled.server.settings import get_settings

from smartlab_kernel.serve import tiled_app

SECRET = "a-secret-key-for-this-test-only-0123456789abcdef"


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "tiled.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "authentication": {"secret_keys": [SECRET], "allow_anonymous_access": True},
                "trees": [{"path": "/", "tree": "tiled.examples.generated_minimal:tree"}],
            }
        )
    )
    return path


def _rebuilt_per_request(app: Any, monkeypatch: pytest.MonkeyPatch) -> int:
    """How often FastAPI built a dependency tree while answering two requests."""
    calls = 0
    real = fastapi_utils.get_dependant

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return real(*args, **kwargs)

    with warnings.catch_warnings():  # starlette would rather have httpx2 (as tiled's own tests)
        warnings.simplefilter("ignore", UserWarning)
        from starlette.testclient import TestClient

    with TestClient(app) as client:  # runs tiled's start-up, which reads the override
        assert client.get("/api/v1/metadata/").status_code == 200
        monkeypatch.setattr(fastapi_utils, "get_dependant", counting)
        for _ in range(2):
            assert client.get("/api/v1/metadata/").status_code == 200
    monkeypatch.setattr(fastapi_utils, "get_dependant", real)
    return calls


def test_the_lab_tiled_app_answers_without_rebuilding_dependencies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tiled.config import parse_configs
    from tiled.server.app import build_app_from_config

    config = _config(tmp_path)
    stock = build_app_from_config(parse_configs(config))
    assert _rebuilt_per_request(stock, monkeypatch) > 0  # what the override costs stock tiled

    limited, _ = tiled_app.build(str(config))
    app = limited.app
    assert not app.dependency_overrides  # FastAPI sees none ...
    settings = app.dependency_overrides[get_settings]()  # ... tiled still finds it
    assert settings is get_settings()
    assert SECRET in settings.secret_keys  # the configuration's, as before
    assert _rebuilt_per_request(app, monkeypatch) == 0


def test_an_override_that_differs_is_left_alone(tmp_path: Path) -> None:
    from tiled.config import parse_configs
    from tiled.server.app import build_app_from_config

    app = build_app_from_config(parse_configs(_config(tmp_path)))
    app.dependency_overrides[get_settings] = lambda: "something else"
    assert not tiled_app.settle_settings_override(app)
    assert app.dependency_overrides  # still a plain, non-empty override
