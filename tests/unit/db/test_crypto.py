"""Encryption of datasource secrets (congress.db.crypto)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from oslo_config import cfg

from congress import config, exceptions
from congress.db import crypto


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_key_created_on_first_use_with_strict_permissions(tmp_path):
    key_dir = tmp_path / "a" / "keys"
    c = crypto.Crypter(str(key_dir))
    assert not key_dir.exists()  # nothing happens before first use
    token = c.encrypt("hello")
    assert c.key_path == str(key_dir / "aes_key")
    assert _mode(key_dir) == 0o700
    assert _mode(c.key_path) == 0o600
    assert os.listdir(key_dir) == ["aes_key"]  # no temporary file left
    assert c.decrypt(token) == "hello"


def test_existing_key_is_reused(tmp_path):
    first = crypto.Crypter(str(tmp_path))
    token = first.encrypt("pw")
    key = Path(first.key_path).read_text()
    second = crypto.Crypter(str(tmp_path))
    assert second.decrypt(token) == "pw"
    assert Path(second.key_path).read_text() == key


def test_concurrent_key_creation_agrees(tmp_path):
    crypters = [crypto.Crypter(str(tmp_path)) for _ in range(8)]
    tokens = [None] * 8

    def work(i):
        tokens[i] = crypters[i].encrypt(f"v{i}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reader = crypto.Crypter(str(tmp_path))
    assert [reader.decrypt(t) for t in tokens] == [f"v{i}" for i in range(8)]


def test_corrupt_key_file(tmp_path):
    (tmp_path / "aes_key").write_text("not a key")
    with pytest.raises(exceptions.CongressError, match="encryption key"):
        crypto.Crypter(str(tmp_path)).encrypt("x")


def test_wrong_key(tmp_path):
    token = crypto.Crypter(str(tmp_path / "one")).encrypt("x")
    with pytest.raises(crypto.DecryptionError):
        crypto.Crypter(str(tmp_path / "two")).decrypt(token)


def test_encrypt_and_decrypt_config(tmp_path):
    c = crypto.Crypter(str(tmp_path))
    config_in = {"username": "u", "password": "pw", "token": None, "port": 5}
    stored = c.encrypt_config(config_in, ["password", "token", "port", "absent"])
    assert config_in == {"username": "u", "password": "pw", "token": None, "port": 5}
    assert stored["__encrypted_fields"] == ["password", "port"]
    assert stored["password"] != "pw" and stored["token"] is None
    assert c.decrypt_config(stored) == {"username": "u", "password": "pw", "token": None,
                                        "port": "5"}
    assert crypto.encrypted_fields(stored) == ["password", "port"]
    assert crypto.encrypted_fields({"a": 1}) == []


def test_reserved_key_rejected(tmp_path):
    with pytest.raises(exceptions.BadRequest):
        crypto.Crypter(str(tmp_path)).encrypt_config({"__encrypted_fields": []}, ["a"])
    with pytest.raises(exceptions.BadRequest):
        crypto.encrypt_config({"__encrypted_fields": []}, [])


def test_module_functions_use_configured_key(tmp_path, monkeypatch):
    monkeypatch.setattr(crypto, "_default", None)
    with pytest.raises(exceptions.CongressError):
        crypto.get_default()
    # nothing to encrypt or decrypt: no key needed at all
    assert crypto.encrypt_config({"a": "1"}, ["password"]) == {"a": "1"}
    assert crypto.decrypt_config({"a": "1", "__encrypted_fields": []}) == {"a": "1"}
    conf = config.new_conf()
    conf([], default_config_files=[])
    conf.set_override("encryption_key_path", str(tmp_path / "k"))
    c = crypto.configure_from_conf(conf)
    assert crypto.get_default() is c
    assert crypto.configure(str(tmp_path / "k")) is c  # same dir: same object
    stored = crypto.encrypt_config({"password": "pw"}, ["password"])
    assert crypto.decrypt_config(stored) == {"password": "pw"}
    assert os.path.exists(tmp_path / "k" / "aes_key")


def test_default_key_path_is_under_state_path(tmp_path):
    conf = config.new_conf()
    conf([], default_config_files=[])
    conf.set_override("state_path", str(tmp_path))
    assert conf.encryption_key_path == os.path.join(str(tmp_path), "keys")
    assert isinstance(conf, cfg.ConfigOpts)
