from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from smartlab_kernel.cli.main import main
from smartlab_kernel.lims import LimsStore


def _cli_target(lims: LimsStore) -> list[str]:
    url = lims.engine.url
    if url.get_backend_name() == "sqlite":
        return ["--db", str(url.database)]
    with lims.engine.connect() as conn:
        schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
    return ["--db", url.render_as_string(hide_password=False), "--schema", schema]


def test_verify_intact_then_tampered(lims: LimsStore, capsys: pytest.CaptureFixture[str]) -> None:
    sample = lims.register_sample("mixture")
    lims.transition(sample.sample_id, "prepared")
    lims.transition(sample.sample_id, "measured")
    assert main(["audit", "verify", *_cli_target(lims)]) == 0
    assert "audit trail intact: 3 entries" in capsys.readouterr().out
    with lims.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
        else:
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        conn.exec_driver_sql("UPDATE audit_log SET operator = 'eve' WHERE seq = 2")
    assert main(["audit", "verify", *_cli_target(lims)]) == 1
    err = capsys.readouterr().err
    assert "audit trail broken at seq 2" in err and "hash mismatch" in err


def test_verify_default_path_and_missing_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["audit", "verify"]) == 2
    assert "no LIMS database at 'lab-data/lims.sqlite'" in capsys.readouterr().err
    with LimsStore.open(tmp_path / "lab-data" / "lims.sqlite") as lims:
        lims.register_sample("mixture")
    assert main(["audit", "verify"]) == 0
    assert main(["audit", "verify", "--db", f"sqlite:///{tmp_path}/nowhere.sqlite"]) == 2
    assert not (tmp_path / "nowhere.sqlite").exists()
    assert main(["audit", "verify", "--db", "nowhere.sqlite"]) == 2
    assert not (tmp_path / "nowhere.sqlite").exists()


def test_verify_unreachable_database(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    assert main(["audit", "verify", "--db", url]) == 2
    assert "cannot open LIMS database" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["audit", "--help"], ["audit", "verify", "--help"]])
def test_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    assert "usage: smartlab audit" in capsys.readouterr().out


def test_audit_without_subcommand_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit"]) == 2
    assert "verify" in capsys.readouterr().out
