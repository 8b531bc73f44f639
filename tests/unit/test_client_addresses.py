"""Which address a message came from (``dit_assistant.channels.addresses``): the connection's
peer, and a forwarded address only from the clinic's own proxies (``TRUSTED_PROXIES``)."""

from __future__ import annotations

import ipaddress
import logging
from types import SimpleNamespace

import pytest

from dit_assistant.channels import addresses
from dit_assistant.channels.addresses import client_address, parse_address, rate_key
from dit_assistant.channels.socketio import socket_address
from dit_assistant.settings import ConfigurationError, load_settings

PROXIES = (ipaddress.ip_network("10.0.0.5"), ipaddress.ip_network("fd00:1::/64"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # No proxy is trusted by default: a forwarded header is anyone's to write.
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),
        ("127.0.0.1", "198.51.100.1", "127.0.0.1"),
        # A trusted proxy's header names the caller: the nearest hop that is not a proxy.
        ("10.0.0.5", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.5", "203.0.113.66, 198.51.100.1", "198.51.100.1"),  # the left part: the caller's
        ("10.0.0.5", "198.51.100.1, 10.0.0.5", "198.51.100.1"),  # a chain of trusted proxies
        ("fd00:1::7", "[2001:db8::1]:443", "2001:db8::1"),
        ("10.0.0.5", "198.51.100.1:5678", "198.51.100.1"),
        ("10.0.0.5", "::ffff:198.51.100.1", "198.51.100.1"),
        # What no proxy of ours wrote stops the walk at the last trusted hop.
        ("10.0.0.5", "unknown", "10.0.0.5"),
        ("10.0.0.5", "198.51.100.1, _hidden, 10.0.0.5", "10.0.0.5"),
        ("10.0.0.5", "", "10.0.0.5"),
        ("10.0.0.5", None, "10.0.0.5"),
        ("", "198.51.100.1", None),
        (None, None, None),
    ],
)
def test_the_callers_address(peer, forwarded, expected):
    assert client_address(peer, forwarded, PROXIES) == expected


def test_a_local_proxy_that_is_not_trusted_is_reported_once(caplog, monkeypatch):
    monkeypatch.setattr(addresses, "_warned_untrusted_local_proxy", False)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            client_address("127.0.0.1", "198.51.100.1", ())
    assert caplog.text.count("TRUSTED_PROXIES does not name it") == 1
    assert "198.51.100.1" not in caplog.text  # an address is personal data


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("127.0.0.1", None),
        ("127.8.9.10", None),
        ("::1", None),
        ("not an address", None),
        (None, None),
    ],
)
def test_what_the_per_address_limit_counts(address, key):
    assert rate_key(address) == key


def test_addresses_as_peers_and_proxies_write_them():
    assert str(parse_address(" 192.0.2.7 ")) == "192.0.2.7"
    assert str(parse_address("[2001:db8::1]")) == "2001:db8::1"
    assert parse_address("example.org") is None


def test_a_widget_socket_is_counted_by_the_peer_of_the_request_that_opened_it():
    """python-engineio's environ under Sanic always says REMOTE_ADDR=127.0.0.1; the peer is in
    the Sanic request it carries."""
    environ = {
        "REMOTE_ADDR": "127.0.0.1",
        "sanic.request": SimpleNamespace(ip="198.51.100.20"),
        "HTTP_X_FORWARDED_FOR": "203.0.113.1",
    }
    assert socket_address(environ, ()) == "198.51.100.20"
    assert socket_address(environ, (ipaddress.ip_network("198.51.100.0/24"),)) == "203.0.113.1"


def test_the_per_address_settings_and_their_defaults():
    defaults = load_settings(env={})
    assert defaults.max_messages_per_minute_per_address == 120
    assert defaults.trusted_proxies == ()
    chosen = load_settings(
        env={"MAX_MESSAGES_PER_MINUTE_PER_ADDRESS": "600", "TRUSTED_PROXIES": "127.0.0.1, ::1"}
    )
    assert chosen.max_messages_per_minute_per_address == 600
    assert chosen.trusted_proxies == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("::1/128"),
    )
    with pytest.raises(ConfigurationError, match="TRUSTED_PROXIES"):
        load_settings(env={"TRUSTED_PROXIES": "proxy.example.org"})
    with pytest.raises(ConfigurationError, match="MAX_MESSAGES_PER_MINUTE_PER_ADDRESS"):
        load_settings(env={"MAX_MESSAGES_PER_MINUTE_PER_ADDRESS": "0"})
