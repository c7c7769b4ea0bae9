"""Opens a secret Hearth sealed at rest (bot/net/matrix/crypto/e2e_secret.c) with its e2e.key:
crypto_kdf (context "hearthtk", id 1) from the key, then crypto_secretbox, through libsodium."""

import base64
import ctypes
import ctypes.util
import os

TAG = "sealed1:"
_na = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
_na.sodium_init()


def is_sealed(value: str) -> bool:
    return isinstance(value, str) and value.startswith(TAG)


def open_sealed(data_dir: str, value: str) -> str:
    """The secret in clear; raises ValueError when it does not open with this data folder's key."""
    with open(os.path.join(data_dir, "e2e.key"), "rb") as f:
        key = f.read()
    sub = ctypes.create_string_buffer(32)
    if _na.crypto_kdf_derive_from_key(sub, ctypes.c_size_t(32), ctypes.c_uint64(1), b"hearthtk", key):
        raise ValueError("kdf failed")
    raw = base64.b64decode(value[len(TAG):])
    nonce, box = raw[:24], raw[24:]
    out = ctypes.create_string_buffer(len(box) - 16)
    if _na.crypto_secretbox_open_easy(out, box, ctypes.c_ulonglong(len(box)), nonce, sub):
        raise ValueError("the sealed value does not open with this key")
    return out.raw.decode()
