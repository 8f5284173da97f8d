"""pytest plugin: core's online test suite against a relay with a lab-CA certificate.

Loaded with `-p lab_spki_pin` (Tests/lab/core-suite/run does it for a
relay whose domain does not start with `_`, e.g. relay1.test with its
certificate from the lab's pebble). Core trusts only its compiled-in
Mozilla roots, so configuring such a relay fails with UnknownIssuer unless
the account has the relay's key pinned (Tests/lab/deltachat/labtls.py).

At start-up the plugin verifies CHATMAIL_DOMAIN's certificate chain and
name against LAB_CA_BUNDLE (ports 443, 465, 993 must serve one key) and takes
its SPKI hash. It then wraps DeltaChat.add_account, the call every account
of the suite is made with (the factory's get_unconfigured_account, the
tests' own `dc.add_account()`, Account.clone), so that each new account has
the pin in its database before anything configures it. Core still checks the
host name, and accepts no other key.
"""

import os

from deltachat_rpc_client import DeltaChat
from labtls import pin_spki, verified_spki_hash

PIN = {}


def pytest_configure(config):
    domain = os.environ["CHATMAIL_DOMAIN"]
    PIN["host"], PIN["spki"] = domain, verified_spki_hash(domain, os.environ["LAB_CA_BUNDLE"])
    plain = DeltaChat.add_account

    def add_account(self):
        account = plain(self)
        pin_spki(account.get_info()["database_dir"], PIN["host"], PIN["spki"])
        return account

    add_account.__doc__ = plain.__doc__
    DeltaChat.add_account = add_account


def pytest_report_header():
    return [f"lab SPKI pin: {PIN.get('host')} sha256/{PIN.get('spki')} (verified with LAB_CA_BUNDLE)"]
