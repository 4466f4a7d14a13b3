"""The suite's own Parquet writer (`nasbench_suite.parquet_writer`): what it writes is read back by
pyarrow, with page checksums verified, as exactly the values, types and footer metadata it was given,
and as the same table pyarrow's own writer gives for them."""

from __future__ import annotations

import json
import struct

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nasbench_suite import parquet_writer as pw
from nasbench_suite.errors import ResultsError
from nasbench_suite.results import COLUMN_TYPES, COLUMNS, RUN_META_KEY, encode_run


def _read(data: bytes) -> pa.Table:
    return pq.ParquetFile(pa.BufferReader(data), page_checksum_verification=True).read()


def _same_bits(a: pa.Table, b: pa.Table) -> None:
    assert a.schema.equals(b.schema, check_metadata=True)
    for name in a.column_names:
        x, y = a.column(name).to_numpy(zero_copy_only=False), b.column(name).to_numpy(zero_copy_only=False)
        assert x.dtype == y.dtype, name
        assert (x.tobytes() == y.tobytes()) if x.dtype.kind in "iuf" else list(x) == list(y), name


def test_thrift_compact_integers_are_zigzag_varints() -> None:
    # the examples of Thrift's compact protocol specification
    assert [pw._int(v) for v in (0, -1, 1, -2, 2)] == [b"\x00", b"\x01", b"\x02", b"\x03", b"\x04"]
    assert pw._varint(300) == b"\xac\x02"
    assert pw._varint(2**31) == b"\x80\x80\x80\x80\x08"
    assert pw._int(-(2**31)) == b"\xff\xff\xff\xff\x0f"
    assert pw._list(pw._I32, [b"\x00"] * 15)[:2] == b"\xf5\x0f"  # 15 items or more: the long header


def test_a_table_reads_back_as_written_and_as_pyarrows_own_file() -> None:
    rng = np.random.default_rng(3)
    n = 20_000  # several-byte varints in every header, a level run longer than 0x4000
    values = {
        "whole": rng.integers(-(2**62), 2**62, size=n).tolist(),
        "real": [*rng.normal(size=n - 3).tolist(), float("nan"), float("inf"), -0.0],
        "text": [["", "zc_snip", "hw_latency_ms/pixel3", "é ü 中"][k % 4] for k in range(n)],
        "same": ["cifar10-valid"] * n,
        "f32": rng.normal(size=n).astype(">f4"),  # big-endian: written little-endian
        "i32": np.arange(n, dtype=np.int32)[::-1],  # not contiguous
    }
    kinds = {"whole": "int64", "real": "float64", "text": "string", "same": "string", "f32": "float32"}
    kinds["i32"] = "int32"
    meta = {b"key": b"value", RUN_META_KEY: json.dumps({"run": 3, "x": [1.5, None]}).encode()}
    data = pw.encode([pw.Column(k, kinds[k], v) for k, v in values.items()], meta)
    table = _read(data)
    assert table.schema.metadata == meta
    assert [str(t) for t in table.schema.types] == ["int64", "double", "string", "string", "float", "int32"]
    assert all(f.nullable for f in table.schema)  # OPTIONAL, as arrow's own columns
    assert table.column("whole").to_pylist() == values["whole"]
    assert np.asarray(table.column("real")).tobytes() == np.asarray(values["real"]).tobytes()
    assert table.column("text").to_pylist() == values["text"]
    assert table.column("same").to_pylist() == values["same"]
    assert np.asarray(table.column("f32")).tolist() == values["f32"].tolist()
    assert np.asarray(table.column("i32")).tolist() == list(range(n - 1, -1, -1))
    # pyarrow's writer, given the same arrow table, reads back bit for bit the same
    theirs = pa.BufferOutputStream()
    pq.write_table(table, theirs)
    _same_bits(table, _read(theirs.getvalue().to_pybytes()))
    footer = pq.ParquetFile(pa.BufferReader(data)).metadata
    assert (footer.num_rows, footer.num_row_groups, footer.num_columns) == (n, 1, 6)
    assert footer.row_group(0).column(2).compression == "SNAPPY"
    assert data[:4] == data[-4:] == b"PAR1"
    assert struct.unpack("<I", data[-8:-4])[0] == footer.serialized_size


def test_no_rows_keeps_the_types_and_unequal_lengths_are_refused() -> None:
    columns = [pw.Column("a", "int64", []), pw.Column("b", "string", []), pw.Column("c", "float64", [])]
    table = _read(pw.encode(columns, {}))
    assert (table.num_rows, [str(t) for t in table.schema.types]) == (0, ["int64", "string", "double"])
    with pytest.raises(ValueError, match="same number of rows"):
        pw.encode([pw.Column("a", "int64", [1, 2]), pw.Column("b", "int64", [1])], {})


def test_numbers_of_another_python_type_are_converted_as_numpy_converts_them() -> None:
    columns = [
        pw.Column("whole", "int64", [1.0, np.int32(2), 3]),  # struct refuses 1.0: numpy's rule
        pw.Column("real", "float64", [1, np.float32(0.5), True]),
        pw.Column("text", "string", [1, "b", 2.5]),
    ]
    table = _read(pw.encode(columns, {}))
    assert table.column("whole").to_pylist() == [1, 2, 3]
    assert table.column("real").to_pylist() == [1.0, 0.5, 1.0]
    assert table.column("text").to_pylist() == ["1", "b", "2.5"]


def test_every_page_carries_its_checksum() -> None:
    """A byte flipped inside any column's page (the footer intact) fails the read, never a silently
    different value."""
    columns = [pw.Column(f"c{k}", "float64", [float(v) for v in range(50)]) for k in range(3)]
    data = pw.encode(columns, {})
    footer = pq.ParquetFile(pa.BufferReader(data)).metadata
    for k in range(3):
        chunk = footer.row_group(0).column(k)
        end = chunk.data_page_offset + chunk.total_compressed_size
        broken = bytearray(data)
        broken[end - 2] ^= 0x01  # inside the page's values
        with pytest.raises(OSError, match="CRC"):
            _read(bytes(broken))


def test_a_run_file_has_the_standard_columns_and_extras_by_their_values() -> None:
    n = 4
    columns: dict[str, object] = {
        name: (["random"] * n if COLUMN_TYPES[name] == "string" else list(range(n))) for name in COLUMNS
    }
    columns |= {"ints": [1, 2, 3, 4], "reals": [1, 2.5, 3, 4], "texts": iter("abcd")}
    data = encode_run(columns, {"run": 0}, extra=("ints", "reals", "texts"))
    table = _read(data)
    types = {f.name: str(f.type) for f in table.schema}
    assert types["cost_s"] == "double" and table.column("cost_s").to_pylist() == [0.0, 1.0, 2.0, 3.0]
    assert (types["ints"], types["reals"], types["texts"]) == ("int64", "double", "string")
    assert table.column("texts").to_pylist() == list("abcd")
    assert json.loads(table.schema.metadata[RUN_META_KEY]) == {"run": 0}
    with pytest.raises(ResultsError, match="'flags'"):
        encode_run(columns | {"flags": [True, False, True, False]}, {}, extra=("flags",))
