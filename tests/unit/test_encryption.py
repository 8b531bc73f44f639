"""Encryption of personal data at rest: the newest key encrypts, every configured key decrypts,
rotation moves everything to the newest key, and a missing key is a clear error."""

from __future__ import annotations

import pytest

from dit_assistant.settings import ConfigurationError
from dit_assistant.store.crypto import EnquiryCipher, InvalidToken, generate_key

OLD, NEW = generate_key(), generate_key()


def test_text_comes_back_and_never_shows_in_the_token():
    cipher = EnquiryCipher((NEW,))
    token = cipher.encrypt("Zoë Quartermaine, 07700 900461")
    assert "Quartermaine" not in token and "07700" not in token
    assert cipher.decrypt(token) == "Zoë Quartermaine, 07700 900461"
    assert cipher.encrypt("same") != cipher.encrypt("same")  # no pattern across rows
    assert (cipher.encrypt_optional(None), cipher.decrypt_optional(None)) == (None, None)
    assert cipher.decrypt_bytes(cipher.encrypt_bytes(b"\x00spool")) == b"\x00spool"


def test_rotation_re_encrypts_with_the_newest_key():
    token = EnquiryCipher((OLD,)).encrypt("hello")
    both = EnquiryCipher((NEW, OLD))
    assert both.decrypt(token) == "hello"  # old data stays readable during a rotation
    rotated = both.rotate(token)
    assert EnquiryCipher((NEW,)).decrypt(rotated) == "hello"
    with pytest.raises(InvalidToken):
        EnquiryCipher((OLD,)).decrypt(rotated)
    assert EnquiryCipher((NEW,)).decrypt_bytes(both.rotate_bytes(both.encrypt_bytes(b"x"))) == b"x"


def test_a_token_no_configured_key_fits_is_refused():
    with pytest.raises(InvalidToken):
        EnquiryCipher((NEW,)).decrypt(EnquiryCipher((OLD,)).encrypt("hello"))


def test_no_key_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="no encryption key"):
        EnquiryCipher(())
