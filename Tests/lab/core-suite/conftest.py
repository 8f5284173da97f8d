"""Fixtures core's online test suite takes from its repository, not its sdist.

The deltachat-rpc-client sdist carries tests/ and the pytest plugin
(deltachat_rpc_client.pytestplugin), but not the repository's
deltachat-rpc-client/tests/conftest.py nor its test-data/ directory. The run
(Tests/lab/core-suite/run) copies this file into the suite's tests/ as their
conftest.py when the sdist has none, and writes test-data/ beside the suite
(make_test_data.py), in the repository's layout:

    WORK/deltachat-rpc-client/tests/test_*.py, conftest.py
    WORK/test-data/

Written for this project from what the tests call:

- `direct_imap(account, addr=None, password=None)`: an IMAP connection of
  the test itself (imap_tools), to port 993 of the address's domain, with
  the account's login. Certificates are verified (the lab exports its CA
  bundle as SSL_CERT_FILE), except for a domain starting with `_`, whose
  relay has a self-signed certificate.
- `rpcdata`: the plugin's fixture looks for test-data/ above the installed
  plugin, which is a venv here; this one looks above the tests.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import ssl

import pytest
from imap_tools import MailBox, errors


class DirectImap:
    """The test's own IMAP session for one address of an account."""

    def __init__(self, account, addr=None, password=None) -> None:
        self.account = account
        self.addr = addr or account.get_config("configured_addr")
        if password is None:
            password = next((t["password"] for t in account.list_transports() if t["addr"] == self.addr), None)
        self.password = password if password is not None else account.get_config("mail_pw")
        self.idling = False
        self.conn = None
        self.connect()

    def connect(self) -> None:
        if self.conn is not None:
            self.shutdown()
        host = self.addr.rsplit("@", 1)[1]
        ctx = ssl.create_default_context()
        if host.startswith("_"):
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        self.conn = MailBox(host, 993, ssl_context=ctx)
        self.conn.login(self.addr, self.password)
        self.select_folder("INBOX")

    def shutdown(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.logout()
        self.conn = None

    def select_folder(self, name: str):
        assert not self.idling
        return self.conn.folder.set(name)

    def select_config_folder(self, config_name: str):
        """Selects the folder an account setting names (`inbox` stands for
        `configured_inbox_folder`); None when the setting is empty."""
        key = config_name if "_" in config_name else f"configured_{config_name}_folder"
        name = self.account.get_config(key)
        return self.select_folder(name) if name else None

    def create_folder(self, name: str) -> None:
        with contextlib.suppress(errors.MailboxFolderCreateError):   # exists already
            self.conn.folder.create(name)

    def list_folders(self) -> list[str]:
        assert not self.idling
        return [f.name for f in self.conn.folder.list()]

    def delete(self, uid_list: str, expunge: bool = True) -> None:
        """Flags the messages of an IMAP UID set (e.g. "1:*") \\Deleted and,
        unless told not to, expunges them."""
        self.conn.client.uid("STORE", uid_list, "+FLAGS", r"(\Deleted)")
        if expunge:
            self.conn.client.expunge()

    def get_all_messages(self):
        assert not self.idling
        return list(self.conn.fetch(mark_seen=False))

    @contextlib.contextmanager
    def idle(self):
        """IMAP IDLE on the selected folder for the block's duration."""
        watcher = IdleWatcher(self)
        try:
            yield watcher
        finally:
            watcher.done()


class IdleWatcher:
    def __init__(self, imap: DirectImap) -> None:
        self.imap = imap
        imap.conn.idle.start()
        imap.idling = True

    def check(self, timeout=None) -> list[bytes]:
        """The untagged responses the server sent, waiting up to timeout."""
        return self.imap.conn.idle.poll(timeout=timeout)

    def wait_for_new_message(self) -> bytes:
        while True:
            for line in self.check():
                if b"EXISTS" in line or b"RECENT" in line:
                    return line

    def wait_for_seen(self, timeout=None) -> int:
        """The sequence number of the first message the server reports \\Seen."""
        while True:
            for line in self.check(timeout=timeout):
                if b"FETCH" in line and b"FLAGS" in line and rb"\Seen" in line:
                    return int(line.split(b" ")[1])

    def done(self) -> None:
        if self.imap.idling:
            self.imap.idling = False
            self.imap.conn.idle.stop()


@pytest.fixture
def direct_imap():
    opened = []

    def connect(account, addr=None, password=None):
        imap = DirectImap(account, addr, password)
        opened.append(imap)
        return imap

    yield connect
    for imap in opened:
        if imap.conn is not None:
            imap.shutdown()


class TestData:
    def __init__(self, root: pathlib.Path) -> None:
        self.path = root

    def get_path(self, name: str) -> str:
        path = self.path.joinpath(*name.split("/"))
        assert path.exists(), f"{path} missing (Tests/lab/core-suite/make_test_data.py writes it)"
        return str(path)

    def read_path(self, name: str, mode="r"):
        with open(self.get_path(name), mode) as f:
            return f.read()


@pytest.fixture
def rpcdata():
    for parent in pathlib.Path(__file__).resolve().parents:
        if (parent / "test-data").is_dir():
            return TestData(parent / "test-data")
    raise LookupError(f"no test-data/ above {__file__}")


# The suite's RPC servers find deltachat-rpc-server on PATH; say which one.
def pytest_report_header():
    return [f"lab conftest: {__file__} (direct_imap, rpcdata), SSL_CERT_FILE={os.environ.get('SSL_CERT_FILE')}"]
