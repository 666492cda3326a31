"""Encryption of datasource secrets (passwords ...) stored in the database.

The stored format is OpenStack Congress's, so that its databases' secrets stay readable: the
values of a driver's ``secret`` config fields are Fernet tokens in the stored config, whose
``__encrypted_fields`` entry lists the fields so encrypted. The key is the file
``<encryption_key_path>/aes_key`` (directory 0700, file 0600), created on first use; every node
that reads datasource configs needs the same key file.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from congress import exceptions

LOG = logging.getLogger(__name__)

KEY_FILE_NAME = "aes_key"
#: Key in a stored config listing the fields whose values are encrypted.
ENCRYPTED_FIELDS_KEY = "__encrypted_fields"


class DecryptionError(exceptions.DatabaseError):
    """A stored secret cannot be decrypted (wrong or replaced key file)."""

    code = "decryption_failed"


class Crypter:
    """Encrypts and decrypts with the key in ``<key_dir>/aes_key`` (made when first needed)."""

    def __init__(self, key_dir: str) -> None:
        self.key_dir = key_dir
        self._fernet: Fernet | None = None
        self._lock = threading.Lock()

    @property
    def key_path(self) -> str:
        return os.path.join(self.key_dir, KEY_FILE_NAME)

    def initialize(self) -> None:
        """Load the key, creating the directory and key file first if missing."""
        self._get_fernet()

    def _get_fernet(self) -> Fernet:
        with self._lock:
            if self._fernet is None:
                self._fernet = Fernet(self._load_or_create_key())
            return self._fernet

    def _load_or_create_key(self) -> bytes:
        path = self.key_path
        if not os.path.exists(path):
            self._create_key_file()
        try:
            with open(path, encoding="ascii") as f:
                key = f.read().strip().encode("ascii")
            Fernet(key)  # validates
        except (OSError, ValueError) as exc:
            raise exceptions.CongressError(
                f"Cannot read the encryption key {path}: {exc}") from exc
        return key

    def _create_key_file(self) -> None:
        path = self.key_path
        if not os.path.isdir(self.key_dir):
            os.makedirs(self.key_dir, mode=0o700, exist_ok=True)
            os.chmod(self.key_dir, 0o700)
        # Write a temporary file (mkstemp makes it 0600) and hard-link it into place: another
        # process creating the key at the same time either wins or sees a complete file.
        fd, tmp = tempfile.mkstemp(dir=self.key_dir, prefix=".aes_key.")
        try:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(Fernet.generate_key().decode("ascii"))
            try:
                os.link(tmp, path)
                LOG.info("Created encryption key %s", path)
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)

    def encrypt(self, text: str) -> str:
        return self._get_fernet().encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._get_fernet().decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise DecryptionError(
                f"Cannot decrypt a datasource secret with the key {self.key_path} "
                "(was the key file replaced?)") from exc

    def encrypt_config(self, config: Mapping[str, Any],
                       secret_fields: Iterable[str]) -> dict[str, Any]:
        """A copy of ``config`` with the values of ``secret_fields`` encrypted.

        Fields absent from ``config`` or set to None are left alone. The copy gets
        ``__encrypted_fields``: the sorted list of fields actually encrypted (absent when none).
        """
        _check_reserved(config)
        out = dict(config)
        done = []
        for field in sorted(set(secret_fields)):
            value = out.get(field)
            if value is None:
                continue
            out[field] = self.encrypt(value if isinstance(value, str) else str(value))
            done.append(field)
        if done:
            out[ENCRYPTED_FIELDS_KEY] = done
        return out

    def decrypt_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of a stored config with its ``__encrypted_fields`` decrypted and the list removed.

        A config without encrypted fields never touches the key.
        """
        out = dict(config)
        fields = out.pop(ENCRYPTED_FIELDS_KEY, None) or []
        for field in fields:
            if out.get(field) is not None:
                out[field] = self.decrypt(out[field])
        return out


_default: Crypter | None = None
_default_lock = threading.Lock()


def configure(key_dir: str) -> Crypter:
    """Make ``<key_dir>/aes_key`` the key used when no :class:`Crypter` is passed."""
    global _default
    with _default_lock:
        if _default is None or _default.key_dir != key_dir:
            _default = Crypter(key_dir)
        return _default


def configure_from_conf(conf: Any) -> Crypter:
    """:func:`configure` with the ``encryption_key_path`` option."""
    return configure(conf.encryption_key_path)


def get_default() -> Crypter:
    if _default is None:
        raise exceptions.CongressError(
            "The encryption key path is not configured (congress.db.crypto.configure)")
    return _default


def encrypt_config(config: Mapping[str, Any], secret_fields: Iterable[str],
                   crypter: Crypter | None = None) -> dict[str, Any]:
    """See :meth:`Crypter.encrypt_config`; uses the configured key unless ``crypter`` is given.

    Without any secret field present, no key is needed (and none is created).
    """
    fields = [f for f in secret_fields if config.get(f) is not None]
    if not fields:
        _check_reserved(config)
        return dict(config)
    return (crypter or get_default()).encrypt_config(config, fields)


def decrypt_config(config: Mapping[str, Any], crypter: Crypter | None = None) -> dict[str, Any]:
    """See :meth:`Crypter.decrypt_config`; uses the configured key unless ``crypter`` is given."""
    if not config.get(ENCRYPTED_FIELDS_KEY):
        out = dict(config)
        out.pop(ENCRYPTED_FIELDS_KEY, None)
        return out
    return (crypter or get_default()).decrypt_config(config)


def encrypted_fields(stored_config: Mapping[str, Any]) -> list[str]:
    """The fields of a stored config that are encrypted."""
    return list(stored_config.get(ENCRYPTED_FIELDS_KEY) or [])


def _check_reserved(config: Mapping[str, Any]) -> None:
    if ENCRYPTED_FIELDS_KEY in config:
        raise exceptions.BadRequest(f"Config option {ENCRYPTED_FIELDS_KEY} is reserved")
