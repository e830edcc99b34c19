"""`fake-dimail serve` misused: one line saying what is wrong and how to fix it, a non-zero exit, no traceback."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from fake_dimail.cli import main


@pytest.mark.parametrize(("argv", "words"), [
    (["--port", "99999"], "argument --port: '99999' is not a port number (1-65535)"),
    (["--port", "0"], "argument --port: '0' is not a port number (1-65535)"),
    (["--port", "http"], "argument --port: 'http' is not a port number (1-65535)"),
    (["--redirect-base", "notaurl"], "argument --redirect-base: 'notaurl' is not scheme://host[:port]"),
    (["--redirect-base", "https://proxy.example/api"], "'https://proxy.example/api' is not scheme://host[:port]"),
    (["--redirect-base", "http://proxy.example:99999"], "'http://proxy.example:99999' is not scheme://host[:port]"),
    (["--redirect-base", "http://proxy.example:abc"], "'http://proxy.example:abc' is not scheme://host[:port]"),
    (["--control-token", ""], "argument --control-token: the control token must not be empty"),
    (["--control-token", "  "], "argument --control-token: the control token must not be empty"),
])
def test_a_bad_argument_is_refused_at_parse_time(argv: list[str], words: str, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", *argv])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert words in err.splitlines()[-1] and "Traceback" not in err


def test_an_unknown_host_is_one_line() -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--host", "no-such-host.invalid", "--port", "8001"])
    message = str(exited.value.code)
    assert message.startswith("fake-dimail: error: cannot listen on no-such-host.invalid (")
    assert message.endswith("give one of this machine's addresses with --host (or HOST= with make run)")


def test_a_port_in_use_is_named_before_any_banner() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "fake_dimail", "serve", "--port", str(port)],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr == (f"fake-dimail: error: port {port} on 127.0.0.1 is already in use (another fake-dimail, "
                             "or dimail's container?): stop it, or pick another with --port (PORT= with make run)\n")
    assert result.stdout == ""
