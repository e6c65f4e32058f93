"""``cssc send`` and ``tick`` delivering through the smtp plugin to an SMTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_cascade_commands import at, folder, run  # noqa: F401 - the fixture is used by name
from tests.plugins.channels.servers import LOOPBACK, MailSink, smtp_server


@pytest.fixture
def mail() -> Iterator[tuple[MailSink, int]]:
    sink = MailSink()
    controller = smtp_server(sink)
    yield sink, controller.port
    controller.stop()


def test_a_cascade_reaches_a_real_mail_server(
    folder: Path,  # noqa: F811 - the fixture
    mail: tuple[MailSink, int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    sink, port = mail
    (folder / "channels.toml").write_text(
        'format = "cssc-channels/1"\n'
        f'[channels.email]\ntype = "smtp"\naddress = "email"\nsecure = true\nhost = "{LOOPBACK}"\n'
        f'port = {port}\ntls = "none"\nsender = "alerts@cssc.example.org"\n',
        "utf-8",
    )
    argv = ["send", "msg-1.json", "--policy", "policy.toml", "--channels", "channels.toml", "--at", at(0)]
    assert run(capsys, *argv)[0] == 0
    assert run(capsys, "tick", "--at", at(60))[0] == 0
    assert not (folder / "cssc-outbox").exists()
    assert len(sink.messages) == 4  # the relay request and the copies the file channel test sees too
    for message in sink.messages:
        assert message["Subject"].startswith("TLP:")
        assert message.get_content().startswith("TLP:")
    ids = [m["Message-ID"] for m in sink.messages]
    assert len(set(ids)) == len(ids)
