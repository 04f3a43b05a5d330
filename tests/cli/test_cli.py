"""The `smartlab` command: help everywhere, the demo end to end, reproduce on its output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from smartlab_kernel.cli.main import build_parser, main

SUBCOMMANDS = [
    ["demo"],
    ["lab"],
    ["kernel"],
    ["kernel", "install"],
    ["reproduce"],
    ["publish"],
    ["replay"],
    ["devices"],
    ["devices", "check"],
    ["serve"],
    ["audit"],
    ["audit", "verify"],
]


@pytest.mark.parametrize("argv", [[], *SUBCOMMANDS], ids=lambda a: " ".join(a) or "smartlab")
def test_every_subcommand_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    assert exit_info.value.code == 0
    assert "usage: smartlab" in capsys.readouterr().out


def test_lab_help_says_how_to_bind_and_protect_the_server(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["lab", "--help"])
    text = capsys.readouterr().out
    for option in ("--port", "--ip", "--token", "--password"):
        assert option in text


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_lab_command_line_binds_localhost_with_token() -> None:
    parser = build_parser()
    args = parser.parse_args(["lab", "--port", "9999", "--token", "abc", "--no-browser"])
    from smartlab_kernel.cli.lab_cmd import jupyter_arguments

    argv = jupyter_arguments(args)
    assert "--ServerApp.ip=127.0.0.1" in argv
    assert "--ServerApp.port=9999" in argv
    assert "--IdentityProvider.token=abc" in argv
    assert "--MappingKernelManager.default_kernel_name=smartlab" in argv


def test_demo_end_to_end_then_reproduce(tmp_path: Path) -> None:
    directory = tmp_path / "lab-data"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "smartlab_kernel.cli.main",
            "demo",
            "--budget",
            "4",
            "--batch",
            "2",
            "--directory",
            str(directory),
            "--time-scale",
            "20000",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (directory / "campaign.png").stat().st_size > 10_000
    lines = done.stdout.splitlines()
    summary = next(line for line in lines if line.startswith("campaign "))
    assert "4 experiments" in summary
    assert any(line.startswith("best yield") for line in lines)
    assert f"data:  {directory.resolve()}" in done.stdout
    assert f"plot:  {(directory / 'campaign.png').resolve()}" in done.stdout
    assert "experiments: 100%" in done.stderr and "4/4" in done.stderr  # the progress bar
    campaign_id = summary.split()[1].rstrip(":")
    assert not list((directory / "journal" / "pending").iterdir())  # everything shipped
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "smartlab_kernel.cli.main",
            "reproduce",
            campaign_id,
            "--directory",
            str(directory),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert "MATCH: 4 experiments" in again.stdout


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["demo", "--budget", "0"], "argument --budget: must be a whole number >= 1, got '0'"),
        (["demo", "--time-scale", "-5"], "argument --time-scale: must be a finite number > 0"),
        (["demo", "--time-scale", "nan"], "argument --time-scale: must be a finite number > 0"),
        (["devices", "check", "lab.yaml", "--timeout", "0"], "argument --timeout: must be"),
        (["replay", "b", "--timeout", "-1"], "argument --timeout: must be a finite number > 0"),
        (["replay", "b", "--startup-timeout", "soon"], "'soon' is not a number"),
        (["publish", "n.ipynb", "-o", "b", "--startup-timeout", "inf"], "must be a finite"),
        (["reproduce", "d", "--tolerance", "-0.1"], "must be a finite number >= 0"),
        (["serve", "--timeout", "-3"], "argument --timeout: must be a finite number > 0"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_bad_numbers_are_refused_naming_the_option(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refused when the line is read (exit 2), before anything starts."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert said in capsys.readouterr().err
