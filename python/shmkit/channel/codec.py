"""Codecs: values to frame payloads and back. Ids as stored in a channel's directory entry (p2):
bytes 1, utf8 2, msgpack 3 (the same ids as the Node side). ``decode`` receives a bytes object
already copied out of the ring (the caller owns it)."""

from __future__ import annotations

from ..errors import ShmkitError

IDS = {"bytes": 1, "utf8": 2, "msgpack": 3}


class BytesCodec:
    name = "bytes"

    @staticmethod
    def encode(value):
        if isinstance(value, (bytes, bytearray, memoryview)):
            return value
        raise ShmkitError("INVALID_ARGUMENT", f"the bytes codec sends bytes-like values, got {type(value).__name__}")

    @staticmethod
    def decode(payload: bytes) -> bytes:
        return payload


class Utf8Codec:
    name = "utf8"

    @staticmethod
    def encode(value):
        if not isinstance(value, str):
            raise ShmkitError("INVALID_ARGUMENT", f"the utf8 codec sends str values, got {type(value).__name__}")
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ShmkitError("INVALID_ARGUMENT", f"the string is not valid Unicode: {e}") from None

    @staticmethod
    def decode(view):
        # Invalid sequences become U+FFFD, as the Node side's TextDecoder (fatal: false) does.
        return view.decode("utf-8", "replace")


class MsgpackCodec:
    """Plain data through the ``msgpack`` module (only when it is importable). Maps, lists, str,
    bytes, ints, floats, bool, None. The Node side's msgpack codec writes objects as msgpackr
    records (an extension), which this codec refuses with CORRUPT; Node receives what Python
    sends as Maps and arrays."""

    name = "msgpack"

    def __init__(self):
        try:
            import msgpack  # noqa: PLC0415
        except ImportError:
            raise ShmkitError("UNSUPPORTED", "the msgpack codec needs the msgpack module: pip install msgpack") from None
        self._m = msgpack

    def encode(self, value):
        try:
            return self._m.packb(value, use_bin_type=True)
        except Exception as e:  # noqa: BLE001 -- any encoder failure is the caller's value
            raise ShmkitError("INVALID_ARGUMENT", f"the msgpack codec cannot encode this value: {e}") from None

    def decode(self, view):
        def ext(code, data):
            raise ValueError(f"msgpack extension type {code} (a msgpackr record or clone type) is not supported")

        try:
            return self._m.unpackb(view, raw=False, strict_map_key=False, ext_hook=ext)
        except Exception as e:  # noqa: BLE001
            raise ShmkitError("CORRUPT", f"a msgpack message could not be decoded: {e}") from None


def resolve(codec):
    if codec is None or codec == "bytes":
        return BytesCodec
    if codec == "utf8":
        return Utf8Codec
    if codec == "msgpack":
        return MsgpackCodec()
    raise ShmkitError("INVALID_ARGUMENT", f"unknown codec {codec!r}: use 'bytes', 'utf8' or 'msgpack'")
