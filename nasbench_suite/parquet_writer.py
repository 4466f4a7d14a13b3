"""A small Parquet writer for run files: a flat table of whole numbers, real numbers and text, written
without a Parquet library's writer.

pyarrow's writer costs about 12 microseconds per column of a run file inside its C++ writer (column
writers, encoders, page builders; no option changes it by more than 5%), more than the whole search of
a cheap strategy. The file written here is the same Parquet that pyarrow writes for a run file
(format 2, read back with pyarrow by every reader of the suite, the same column types and the same
footer metadata), laid out in the simplest legal way:

- one row group; each column one chunk of one data page (version 1), PLAIN encoding;
- every column OPTIONAL (nullable, as arrow's columns are) with no nulls: its definition levels are one
  run-length-encoded run of 1s;
- pages compressed with snappy (pyarrow's codec) and carrying the CRC-32 of their bytes, which readers
  verify (`run_files.read_footer` opens files with `page_checksum_verification`);
- no statistics, no dictionary pages, no stored arrow schema: the footer's key-value metadata holds the
  caller's entries (the run's metadata).

Physical types: int64 -> INT64, int32 -> INT32, float64 -> DOUBLE, float32 -> FLOAT, text -> BYTE_ARRAY
annotated as UTF-8 (arrow reads it back as `string`). The metadata structures are written in Thrift's
compact protocol, the encoding the Parquet format specifies for them (parquet.thrift); the field
numbers below are that file's.
"""

from __future__ import annotations

import functools
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

MAGIC = b"PAR1"
CREATED_BY = b"nasbench-suite parquet_writer"

# parquet.thrift enums
INT32, INT64, FLOAT, DOUBLE, BYTE_ARRAY = 1, 2, 4, 5, 6
PLAIN, RLE = 0, 3
SNAPPY = 1
OPTIONAL = 1
UTF8 = 0  # ConvertedType

# Thrift compact protocol type codes
_I32, _I64, _BINARY, _LIST, _STRUCT = 5, 6, 8, 9, 12

# physical type of each numpy dtype written as numbers, with struct's letter for one value
NUMERIC: dict[str, tuple[int, str]] = {"int64": (INT64, "q"), "int32": (INT32, "i"), "float64": (DOUBLE, "d")}
NUMERIC["float32"] = (FLOAT, "f")
TEXT = "string"
TEXT_PHYSICAL = BYTE_ARRAY  # written as UTF-8 byte arrays


@dataclass(frozen=True)
class Column:
    """One column to write: its name, type (a key of NUMERIC, or TEXT) and values (a sequence or a
    one-dimensional numpy array)."""

    name: str
    kind: str
    values: Sequence[Any] | np.ndarray


def encode(columns: Sequence[Column], metadata: Mapping[bytes, bytes]) -> bytes:
    """The bytes of a Parquet file holding `columns` (all of one length) and `metadata` in its footer."""
    n = len(columns[0].values) if columns else 0
    if any(len(c.values) != n for c in columns):
        raise ValueError("every column of a Parquet file must have the same number of rows")
    schema, described = _layout(tuple((c.name, c.kind) for c in columns))
    levels = _definition_levels(n)
    count = _int(n)
    data_page = _DATA_PAGE_HEAD + count + _DATA_PAGE_TAIL  # the same in every page of the file
    compress = _snappy()
    parts = [MAGIC]
    offset = len(MAGIC)
    chunks, total = [], 0
    for column, description in zip(columns, described, strict=True):
        raw = levels + _plain(column, n)
        page = compress(raw)
        crc = zlib.crc32(page)
        header = _page_header(len(raw), len(page), crc - (1 << 32) if crc >= 1 << 31 else crc, data_page)
        size = len(header) + len(page)
        chunks.append(_column_chunk(description, count, size + len(raw) - len(page), size, offset))
        parts += (header, page)
        offset += size
        total += len(header) + len(raw)
    footer = _file_metadata(schema, n, chunks, total, metadata)
    parts += (footer, struct.pack("<I", len(footer)), MAGIC)
    return b"".join(parts)


def _snappy() -> Any:
    import pyarrow as pa

    codec = pa.Codec("snappy")
    return lambda data: codec.compress(data, asbytes=True)


def _definition_levels(n: int) -> bytes:
    """Every value present: one RLE run of n 1s (bit width 1), after its 4-byte length."""
    run = _varint(n << 1) + b"\x01" if n else b""
    return struct.pack("<I", len(run)) + run


def _plain(column: Column, n: int) -> bytes:
    """PLAIN encoding of the values: little-endian numbers, or each text as a 4-byte length and UTF-8."""
    values = column.values
    if column.kind == TEXT:
        texts = list(values)
        if n and type(texts[0]) is str and texts.count(texts[0]) == n:  # strategy, dataset, measure
            one = texts[0].encode()
            return (struct.pack("<I", len(one)) + one) * n
        encoded = [str(v).encode() for v in texts]
        return b"".join(struct.pack("<I", len(e)) + e for e in encoded)
    if isinstance(values, np.ndarray):
        return np.ascontiguousarray(values, dtype=np.dtype(column.kind).newbyteorder("<")).tobytes()
    try:
        return struct.pack(f"<{n}{NUMERIC[column.kind][1]}", *values)
    except struct.error:  # a value struct refuses (a whole-number float for an int column): numpy's rule
        return np.asarray(list(values), dtype=np.dtype(column.kind).newbyteorder("<")).tobytes()


# ---------------------------------------------------------------- Thrift compact protocol
def _varint(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    if n < 0x4000:
        return bytes((n & 0x7F | 0x80, n >> 7))
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _int(n: int) -> bytes:
    """An i16, i32 or i64 value: zigzag, then varint."""
    return _varint((n << 1) ^ (n >> 63))


def _field(delta: int, kind: int) -> bytes:
    """A field header: the field id as its distance from the previous field's (1 to 15 here)."""
    return bytes(((delta << 4) | kind,))


def _binary(data: bytes) -> bytes:
    return _varint(len(data)) + data


def _list(kind: int, items: Sequence[bytes]) -> bytes:
    size = len(items)
    head = bytes(((size << 4) | kind,)) if size < 15 else bytes((0xF0 | kind,)) + _varint(size)
    return head + b"".join(items)


STOP = b"\x00"

# The constant parts of the structures below, written once with the helpers above.
# PageHeader{1 type DATA_PAGE, 2 uncompressed size, 3 compressed size, 4 crc (as an i32), 5 DataPageHeader}
_PAGE_TYPE = _field(1, _I32) + _int(0) + _field(1, _I32)
_PAGE_FIELD = _field(1, _I32)
_PAGE_DATA = _field(1, _STRUCT)
# DataPageHeader{1 num_values, 2 PLAIN values, 3 RLE definition levels, 4 RLE repetition levels}
_DATA_PAGE_HEAD = _field(1, _I32)
_DATA_PAGE_TAIL = (
    _field(1, _I32) + _int(PLAIN) + _field(1, _I32) + _int(RLE) + _field(1, _I32) + _int(RLE) + STOP
)


def _page_header(uncompressed: int, compressed: int, signed_crc: int, data_page: bytes) -> bytes:
    return (
        _PAGE_TYPE + _int(uncompressed) + _PAGE_FIELD + _int(compressed) + _PAGE_FIELD + _int(signed_crc)
        + _PAGE_DATA + data_page + STOP
    )  # fmt: skip


def _column_chunk(description: bytes, count: bytes, uncompressed: int, compressed: int, offset: int) -> bytes:
    """ColumnChunk{2 file_offset, 3 ColumnMetaData{1 type, 2 encodings, 3 path, 4 codec (`description`),
    5 num_values (`count`), 6 total uncompressed size, 7 total compressed size, 9 data page offset}}."""
    at = _int(offset)
    return (
        _CHUNK_OFFSET + at + _CHUNK_META + description + _I64_NEXT + count + _I64_NEXT + _int(uncompressed)
        + _I64_NEXT + _int(compressed) + _DATA_PAGE_OFFSET + at + STOP + STOP
    )  # fmt: skip


_CHUNK_OFFSET = _field(2, _I64)
_CHUNK_META = _field(1, _STRUCT)
_I64_NEXT = _field(1, _I64)
_DATA_PAGE_OFFSET = _field(2, _I64)


@functools.lru_cache(maxsize=16)
def _layout(columns: tuple[tuple[str, str], ...]) -> tuple[bytes, tuple[bytes, ...]]:
    """(the footer's schema list, each column's ColumnMetaData fields 1 to 4) of these (name, kind)
    columns: the same for every run file of a comparison, so built once per process (a pure function)."""
    root = _field(4, _BINARY) + _binary(b"schema") + _field(1, _I32) + _int(len(columns)) + STOP
    schema = _list(_STRUCT, [root, *(_schema_element(name, kind) for name, kind in columns)])
    described = tuple(
        _field(1, _I32) + _int(_physical(kind)) + _field(1, _LIST) + _list(_I32, [_int(PLAIN), _int(RLE)])
        + _field(1, _LIST) + _list(_BINARY, [_binary(name.encode())]) + _field(1, _I32) + _int(SNAPPY)
        for name, kind in columns
    )  # fmt: skip
    return schema, described


def _physical(kind: str) -> int:
    return TEXT_PHYSICAL if kind == TEXT else NUMERIC[kind][0]


def _schema_element(name: str, kind: str) -> bytes:
    """SchemaElement{1 type, 3 OPTIONAL, 4 name[, 6 UTF8, 10 LogicalType{1 StringType{}}]}."""
    element = _field(1, _I32) + _int(_physical(kind)) + _field(2, _I32) + _int(OPTIONAL)
    element += _field(1, _BINARY) + _binary(name.encode())
    if kind == TEXT:
        element += _field(2, _I32) + _int(UTF8) + _field(4, _STRUCT) + _field(1, _STRUCT) + STOP + STOP
    return element + STOP


def _file_metadata(
    schema: bytes, n: int, chunks: list[bytes], total: int, metadata: Mapping[bytes, bytes]
) -> bytes:
    """FileMetaData{1 version 2, 2 schema, 3 num_rows, 4 [RowGroup{1 columns, 2 total size, 3 num_rows}],
    5 key-value metadata, 6 created_by}; `total`: the row group's bytes uncompressed."""
    row_group = _field(1, _LIST) + _list(_STRUCT, chunks) + _field(1, _I64) + _int(total)
    row_group += _field(1, _I64) + _int(n) + STOP
    pairs = [
        _field(1, _BINARY) + _binary(key) + _field(1, _BINARY) + _binary(value) + STOP
        for key, value in metadata.items()
    ]
    return (
        _field(1, _I32) + _int(2) + _field(1, _LIST) + schema + _field(1, _I64) + _int(n)
        + _field(1, _LIST) + _list(_STRUCT, [row_group]) + _field(1, _LIST) + _list(_STRUCT, pairs)
        + _field(1, _BINARY) + _binary(CREATED_BY) + STOP
    )  # fmt: skip
