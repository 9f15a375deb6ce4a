"""``tf.train.Example`` / ``SequenceExample`` decoding and encoding with a small wire-format parser.

Why not the ``protobuf`` package: these messages are three levels of length-delimited fields
(Example -> Features -> map<string, Feature> -> Bytes/Float/Int64List), so a ~100-line parser
covers them exactly, adds no dependency, and decodes packed float lists with one
``np.frombuffer`` instead of building Python floats. Field numbers (from TensorFlow's
``feature.proto`` / ``example.proto``):

    Example { Features features = 1; }
    SequenceExample { Features context = 1; FeatureLists feature_lists = 2; }
    Features { map<string, Feature> feature = 1; }      map entry: key = 1, value = 2
    FeatureLists { map<string, FeatureList> feature_list = 1; }
    FeatureList { repeated Feature feature = 1; }
    Feature { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3; } }
    BytesList { repeated bytes value = 1; }  FloatList { repeated float value = 1 [packed]; }
    Int64List { repeated int64 value = 1 [packed]; }

A decoded feature is ``list[bytes]`` (bytes_list), float32 ``ndarray`` or int64 ``ndarray``.
"""

from __future__ import annotations

import numpy as np

Feature = list[bytes] | np.ndarray


class ProtoError(ValueError):
    """The bytes are not a well-formed Example/SequenceExample."""


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtoError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtoError("varint too long")


def _fields(buf: memoryview):
    """Yield (field number, wire type, value) where value is an int or a memoryview slice."""
    pos, n = 0, len(buf)
    while pos < n:
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > n:
                raise ProtoError(f"field {field} runs past the end of its message")
            value, pos = buf[pos : pos + size], pos + size
        elif wire == 5:
            if pos + 4 > n:
                raise ProtoError("truncated fixed32")
            value, pos = buf[pos : pos + 4], pos + 4
        elif wire == 1:
            if pos + 8 > n:
                raise ProtoError("truncated fixed64")
            value, pos = buf[pos : pos + 8], pos + 8
        else:
            raise ProtoError(f"unsupported wire type {wire} for field {field}")
        yield field, wire, value


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _feature(buf: memoryview) -> Feature:
    kind, body = None, None
    for field, wire, value in _fields(buf):
        if wire == 2 and field in (1, 2, 3):
            kind, body = field, value
    if kind is None:
        return np.zeros(0, dtype=np.float32)  # an empty Feature
    if kind == 1:
        return [bytes(v) for f, w, v in _fields(body) if f == 1 and w == 2]
    if kind == 2:
        parts = []
        for f, w, v in _fields(body):
            if f == 1 and w == 2:
                if len(v) % 4:
                    raise ProtoError("packed float list length is not a multiple of 4")
                parts.append(np.frombuffer(v, dtype="<f4"))
            elif f == 1 and w == 5:
                parts.append(np.frombuffer(v, dtype="<f4"))
        return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
    values: list[int] = []
    for f, w, v in _fields(body):
        if f == 1 and w == 2:
            pos = 0
            while pos < len(v):
                x, pos = _varint(v, pos)
                values.append(_signed64(x))
        elif f == 1 and w == 0:
            values.append(_signed64(v))
    return np.asarray(values, dtype=np.int64)


def _map(buf: memoryview, value_parser) -> dict:
    out = {}
    for field, wire, entry in _fields(buf):
        if field != 1 or wire != 2:
            continue
        key, val = "", memoryview(b"")
        for f, w, v in _fields(entry):
            if f == 1 and w == 2:
                key = bytes(v).decode("utf-8")
            elif f == 2 and w == 2:
                val = v
        out[key] = value_parser(val)
    return out


def _feature_list(buf: memoryview) -> list[Feature]:
    return [_feature(v) for f, w, v in _fields(buf) if f == 1 and w == 2]


def concat_features(steps: list[Feature]) -> Feature:
    """Join per-step features (a FeatureList) into one flat feature, as tfds flattens steps."""
    if steps and isinstance(steps[0], list):
        return [b for s in steps for b in s]
    arrays = [np.asarray(s) for s in steps]
    return np.concatenate(arrays) if arrays else np.zeros(0, np.float32)


def parse_example(data: bytes) -> dict[str, Feature]:
    """Features of a serialized ``tf.train.Example`` (or the context of a SequenceExample),
    with any ``feature_lists`` of a SequenceExample joined in (steps concatenated)."""
    buf = memoryview(data)
    out: dict[str, Feature] = {}
    try:
        for field, wire, value in _fields(buf):
            if field == 1 and wire == 2:
                out.update(_map(value, _feature))
            elif field == 2 and wire == 2:
                lists = _map(value, _feature_list)
                out.update({k: concat_features(v) for k, v in lists.items()})
    except (UnicodeDecodeError, IndexError) as exc:
        raise ProtoError(str(exc)) from exc
    return out


def parse_sequence_example(data: bytes) -> tuple[dict[str, Feature], dict[str, list[Feature]]]:
    """(context, feature_lists) of a serialized ``tf.train.SequenceExample``."""
    buf = memoryview(data)
    context: dict[str, Feature] = {}
    lists: dict[str, list[Feature]] = {}
    for field, wire, value in _fields(buf):
        if field == 1 and wire == 2:
            context.update(_map(value, _feature))
        elif field == 2 and wire == 2:
            lists.update(_map(value, _feature_list))
    return context, lists


# --- encoding (tests, converters) ---------------------------------------------------------
def _enc_varint(v: int) -> bytes:
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _len_field(field: int, payload: bytes) -> bytes:
    return _enc_varint(field << 3 | 2) + _enc_varint(len(payload)) + payload


def encode_feature(value: Feature | bytes | str) -> bytes:
    """Serialize one Feature: bytes/str/list of bytes -> bytes_list, float -> float_list, int -> int64_list."""
    if isinstance(value, (bytes, str)):
        value = [value]
    if isinstance(value, list) and (not value or isinstance(value[0], (bytes, str))):
        items = b"".join(_len_field(1, v.encode() if isinstance(v, str) else v) for v in value)
        return _len_field(1, items)
    arr = np.asarray(value).reshape(-1)
    if arr.dtype.kind == "f":
        return _len_field(2, _len_field(1, arr.astype("<f4").tobytes()))
    packed = b"".join(_enc_varint(int(x)) for x in arr.astype(np.int64))
    return _len_field(3, _len_field(1, packed))


def _features(features: dict[str, Feature]) -> bytes:
    return b"".join(
        _len_field(1, _len_field(1, k.encode()) + _len_field(2, encode_feature(v))) for k, v in features.items()
    )


def encode_example(features: dict[str, Feature]) -> bytes:
    """Serialize a ``tf.train.Example``."""
    return _len_field(1, _features(features))


def encode_sequence_example(context: dict[str, Feature], feature_lists: dict[str, list[Feature]]) -> bytes:
    """Serialize a ``tf.train.SequenceExample``."""
    entries = []
    for k, steps in feature_lists.items():
        feature_list = b"".join(_len_field(1, encode_feature(s)) for s in steps)
        entries.append(_len_field(1, _len_field(1, k.encode()) + _len_field(2, feature_list)))
    lists = b"".join(entries)
    return _len_field(1, _features(context)) + _len_field(2, lists)


__all__ = [
    "Feature",
    "ProtoError",
    "concat_features",
    "encode_example",
    "encode_sequence_example",
    "encode_feature",
    "parse_example",
    "parse_sequence_example",
]
