"""Image data for live training, without torchvision: decode once, cache as `.npy`, split as NAS-Bench-201.

Every loader returns an `ImageData` record: uint8 images `(N, H, W, 3)` in the original order of the
source and int64 labels. The first load decodes the source and writes the arrays to a cache directory
(one subdirectory per source, keyed by the source's path, sizes and modification times); later loads
read the `.npy` files (`allow_pickle=False`) and decode nothing.

Sources:
- `load_cifar_python`: the standard CIFAR-10 / CIFAR-100 python archives (`cifar-10-python.tar.gz`,
  `cifar-100-python.tar.gz`) or their extracted directories (`cifar-10-batches-py`, `cifar-100-python`).
- `load_image_folder` / `load_image_folder_tar`: `{train,test}/<class>/<index>.<ext>` trees (JPEG/PNG
  via Pillow), images ordered by `<index>`; `load_cifar10_jpeg_tar` checks the CIFAR-10 sizes on top.
- `load_imagenet16`: the downsampled-ImageNet 16x16 pickles (`train_data_batch_1..10`, `val_data`),
  keeping classes 1..N (120 for ImageNet16-120) and shifting labels to 0..N-1, as NAS-Bench-201 does.

`load_split` reads the official split files and `nb201_dataset` assembles the train / valid / test
arrays of a NAS-Bench-201 dataset name with the benchmark's normalization constants.

The pickles are read with a restricted unpickler that resolves nothing but numpy's array reconstruction:
a file that names any other global is refused (unpickling runs whatever callable a file names).
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import pickle
import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from nasbench_suite.datasets import DATASETS
from nasbench_suite.errors import ConfigError, SuiteError, unknown
from nasbench_suite.store.safe_pickle import OFFICIAL_GLOBALS

DEFAULT_CACHE_DIR = Path(__file__).resolve().parents[1] / "data" / "cache"
CACHE_FORMAT = 1  # bump when the cached arrays change meaning
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
ARRAY_NAMES = ("train_x", "train_y", "test_x", "test_y", "classes")

# NAS-Bench-201's per-channel constants (AutoDL-Projects get_datasets), in units of [0, 1] pixels.
NORMALIZATION: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "cifar10": (
        tuple(x / 255 for x in (125.3, 123.0, 113.9)),
        tuple(x / 255 for x in (63.0, 62.1, 66.7)),
    ),
    "cifar100": (
        tuple(x / 255 for x in (129.3, 124.1, 112.4)),
        tuple(x / 255 for x in (68.2, 65.4, 70.4)),
    ),
    "ImageNet16-120": (
        tuple(x / 255 for x in (122.68, 116.66, 104.01)),
        tuple(x / 255 for x in (63.22, 61.26, 65.09)),
    ),
}
# the official split file of each dataset, its keys, and which original set its indices point into
SPLIT_FILES: dict[str, tuple[str, tuple[str, str], str]] = {
    "cifar10-valid": ("cifar-split.txt", ("train", "valid"), "train"),
    "cifar100": ("cifar100-test-split.txt", ("xvalid", "xtest"), "test"),
    "ImageNet16-120": ("imagenet-16-120-test-split.txt", ("xvalid", "xtest"), "test"),
}


# ============================================================================ records
@dataclass(frozen=True, eq=False)
class ImageData:
    """A decoded source: uint8 images (N, H, W, 3) in source order, int64 labels, class names."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    classes: tuple[str, ...]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_x.shape[1:])


@dataclass(frozen=True, eq=False)
class Split:
    """Index arrays of an official split: `indices[name]` points into the original `source` set
    ('train' for cifar10-valid's train/valid halves, 'test' for the x-valid/x-test halves)."""

    dataset: str
    source: str
    indices: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class LiveDataset:
    """What the training recipe consumes: uint8 NHWC arrays, int64 labels, NAS-Bench-201 constants.

    `valid_x`/`valid_y` are None for `cifar10` (trained on all 50k; no validation split).
    `mean`/`std` are per channel in [0, 1] pixel units; `crop_padding` is the random-crop padding
    (4 for 32x32 images, 2 for ImageNet16's 16x16, as in NAS-Bench-201)."""

    name: str
    train_x: np.ndarray
    train_y: np.ndarray
    valid_x: np.ndarray | None
    valid_y: np.ndarray | None
    test_x: np.ndarray
    test_y: np.ndarray
    mean: tuple[float, ...]
    std: tuple[float, ...]
    num_classes: int
    crop_padding: int

    def __post_init__(self) -> None:
        pairs = [("train", self.train_x, self.train_y), ("test", self.test_x, self.test_y)]
        if (self.valid_x is None) != (self.valid_y is None):
            raise ConfigError(f"{self.name}: valid_x and valid_y must both be arrays or both None")
        if self.valid_x is not None:
            pairs.append(("valid", self.valid_x, self.valid_y))  # type: ignore[arg-type]
        for part, x, y in pairs:
            if x.dtype != np.uint8 or x.ndim != 4 or x.shape[3] != 3:
                raise ConfigError(
                    f"{self.name}: {part}_x must be uint8 (N, H, W, 3), got {x.dtype} {x.shape}"
                )
            if y.shape != (len(x),) or y.dtype != np.int64:
                raise ConfigError(
                    f"{self.name}: {part}_y must be int64 of shape ({len(x)},), got {y.dtype} {y.shape}"
                )
            if len(y) and (y.min() < 0 or y.max() >= self.num_classes):
                raise ConfigError(
                    f"{self.name}: {part} labels must lie in 0..{self.num_classes - 1}, "
                    f"got {y.min()}..{y.max()}"
                )
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ConfigError(
                f"{self.name}: mean and std need 3 channels, std > 0; got {self.mean}, {self.std}"
            )


# ============================================================================ cache
def _fingerprint(kind: str, root: Path, files: Iterable[Path]) -> str:
    """Cache key of a source: loader kind, resolved path, and every file's relative name, size, mtime."""
    h = hashlib.sha256(f"{CACHE_FORMAT}|{kind}|{root.resolve()}".encode())
    for f in sorted(files):
        st = f.stat()
        h.update(f"|{f.relative_to(root) if f != root else ''}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def _cached(
    kind: str,
    root: Path,
    files: Iterable[Path],
    cache_dir: Path | str | None,
    decode: Callable[[], ImageData],
) -> ImageData:
    """Read the cached arrays of `root`, or call `decode()` once and write them atomically."""
    if cache_dir is None:
        return decode()
    entry = Path(cache_dir) / f"{kind}-{root.name}-{_fingerprint(kind, root, files)}"
    if (entry / "classes.npy").is_file():
        arrays = {n: np.load(entry / f"{n}.npy", allow_pickle=False) for n in ARRAY_NAMES}
        return ImageData(**{**arrays, "classes": tuple(str(c) for c in arrays["classes"])})
    data: ImageData = decode()
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=entry.parent))
    try:
        for n in ARRAY_NAMES[:-1]:
            np.save(tmp / f"{n}.npy", getattr(data, n), allow_pickle=False)
        np.save(tmp / "classes.npy", np.array(data.classes, dtype=str), allow_pickle=False)
        os.replace(tmp, entry)  # atomic: readers see the whole entry or none of it
    except OSError:
        if not (entry / "classes.npy").is_file():  # a concurrent writer may have won the race
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return data


# ============================================================================ restricted unpickling
class _ArrayUnpickler(pickle.Unpickler):
    """Resolves only numpy's array/dtype reconstruction (the CIFAR and downsampled-ImageNet pickles
    hold dicts of numpy arrays, lists, strings and numbers); everything else is refused."""

    def __init__(self, file: IO[bytes], name: str) -> None:
        super().__init__(file, encoding="latin1")  # python-2 pickles: str payloads are raw bytes
        self.name = name

    def find_class(self, module: str, name: str) -> Any:
        try:
            return OFFICIAL_GLOBALS[(module, name)]
        except KeyError:
            raise SuiteError(
                f"refusing to load {module}.{name} from {self.name}: a dataset pickle may hold only "
                "dicts, lists, strings, numbers and numpy arrays; this file is not a standard dataset file"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise SuiteError(f"refusing to load {self.name}: it references external objects ({pid!r})")


def _unpickle(data: bytes | IO[bytes], name: str) -> dict[str, Any]:
    file = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        obj = _ArrayUnpickler(file, name).load()
    except SuiteError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise SuiteError(
            f"cannot read {name}: {type(exc).__name__}: {exc} (corrupt or not a pickle)"
        ) from None
    if not isinstance(obj, dict):
        raise SuiteError(f"{name}: expected a pickled dict, got {type(obj).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _field(entry: dict[str, Any], key: str, name: str) -> Any:
    if key not in entry:
        raise SuiteError(f"{name}: missing key {key!r}; keys: {sorted(entry)}")
    return entry[key]


def _chw_rows_to_nhwc(rows: Any, side: int, name: str) -> np.ndarray:
    """Rows of R-plane, G-plane, B-plane bytes (the CIFAR / downsampled-ImageNet layout) -> NHWC uint8."""
    arr = np.asarray(rows, dtype=np.uint8)
    if arr.ndim != 2 or arr.shape[1] != 3 * side * side:
        raise SuiteError(f"{name}: expected data of shape (N, {3 * side * side}), got {arr.shape}")
    return np.ascontiguousarray(arr.reshape(-1, 3, side, side).transpose(0, 2, 3, 1))


# ============================================================================ CIFAR python archives
_CIFAR_MEMBERS = {
    10: ([f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], "batches.meta", "labels", "label_names"),
    100: (["train"], ["test"], "meta", "fine_labels", "fine_label_names"),
}


def _cifar_variant(names: Iterable[str], where: Path) -> int:
    names = set(names)
    for variant, (train, test, meta, _, _) in _CIFAR_MEMBERS.items():
        if {*train, *test, meta} <= names:
            return variant
    raise ConfigError(
        f"{where} is not a CIFAR python archive: expected data_batch_1..5 + test_batch + batches.meta "
        "(cifar-10-batches-py) or train + test + meta (cifar-100-python)"
    )


def _decode_cifar(read: dict[str, bytes], variant: int, where: Path) -> ImageData:
    train_names, test_names, meta_name, label_key, names_key = _CIFAR_MEMBERS[variant]

    def part(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = [], []
        for n in names:
            entry = _unpickle(read[n], f"{where}:{n}")
            xs.append(_chw_rows_to_nhwc(_field(entry, "data", n), 32, f"{where}:{n}"))
            ys.append(np.asarray(_field(entry, label_key, n), dtype=np.int64))
        return np.concatenate(xs), np.concatenate(ys)

    train_x, train_y = part(train_names)
    test_x, test_y = part(test_names)
    meta = _unpickle(read[meta_name], f"{where}:{meta_name}")
    classes = tuple(str(c) for c in _field(meta, names_key, meta_name))
    return ImageData(train_x, train_y, test_x, test_y, classes)


def load_cifar_python(path: Path | str, *, cache_dir: Path | str | None = DEFAULT_CACHE_DIR) -> ImageData:
    """CIFAR-10 or CIFAR-100 (fine labels) from the standard python archive or its extracted directory."""
    path = Path(path)
    if path.is_dir():
        variant = _cifar_variant((p.name for p in path.iterdir()), path)
        train, test, meta, _, _ = _CIFAR_MEMBERS[variant]
        files = [path / n for n in (*train, *test, meta)]

        def decode() -> ImageData:
            return _decode_cifar({f.name: f.read_bytes() for f in files}, variant, path)

        return _cached(f"cifar{variant}", path, files, cache_dir, decode)
    if not path.is_file():
        raise ConfigError(
            f"no CIFAR archive at {path}: give cifar-10-python.tar.gz, cifar-100-python.tar.gz or an extracted directory"
        )

    def decode_tar() -> ImageData:
        members: dict[str, bytes] = {}
        with _open_tar(path) as tar:
            for m in tar:
                f = tar.extractfile(m) if m.isfile() else None
                if f is not None:
                    members[Path(m.name).name] = f.read()
        return _decode_cifar(members, _cifar_variant(members, path), path)

    return _cached("cifar-tar", path, [path], cache_dir, decode_tar)


def _open_tar(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, mode="r|*")  # streamed: members are read in order, never extracted to disk
    except (tarfile.TarError, OSError) as exc:
        raise SuiteError(f"cannot read the archive {path}: {exc}") from None


# ============================================================================ image folders
_INDEX = re.compile(r"^(\d+)$")


def _decode_image(data: bytes, name: str) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError:
        raise SuiteError("decoding JPEG/PNG needs Pillow: pip install pillow") from None
    try:
        with Image.open(io.BytesIO(data)) as img:
            return np.asarray(img.convert("RGB"), dtype=np.uint8)
    except OSError as exc:
        raise SuiteError(f"cannot decode the image {name}: {exc}") from None


def _assemble_folder(items: Iterable[tuple[str, str, int, bytes | Path]], where: Path) -> ImageData:
    """(split, class, index, bytes-or-path) per image -> ImageData, each split ordered by index."""
    parts: dict[str, list[tuple[int, str, bytes | Path]]] = {"train": [], "test": []}
    for split, cls, index, src in items:
        parts[split].append((index, cls, src))
    if not parts["train"] or not parts["test"]:
        raise ConfigError(
            f"{where}: expected images under train/<class>/ and test/<class>/, found none in {[k for k, v in parts.items() if not v]}"
        )
    classes = tuple(sorted({cls for p in parts.values() for _, cls, _ in p}))
    label = {c: k for k, c in enumerate(classes)}
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for split, entries in parts.items():
        entries.sort(key=lambda e: e[0])
        idx = [e[0] for e in entries]
        if len(set(idx)) != len(idx):
            dup = next(i for i, j in itertools.pairwise(idx) if i == j)
            raise ConfigError(
                f"{where}: index {dup} appears twice in {split}/: every <index> must be unique within a split"
            )
        images = [
            _decode_image(src if isinstance(src, bytes) else src.read_bytes(), f"{split}/{cls}/{i}")
            for i, cls, src in entries
        ]
        shapes = {im.shape for im in images}
        if len(shapes) != 1:
            raise ConfigError(f"{where}: all images must have one size, found {sorted(shapes)} in {split}/")
        out[split] = (np.stack(images), np.array([label[cls] for _, cls, _ in entries], dtype=np.int64))
    return ImageData(*out["train"], *out["test"], classes)


def _parse_member(rel: tuple[str, ...]) -> tuple[str, str, int] | None:
    """(split, class, index) of a path ending in {train,test}/<class>/<index>.<ext>, else None."""
    if len(rel) < 3 or rel[-3] not in ("train", "test"):
        return None
    stem, ext = os.path.splitext(rel[-1])
    if ext.lower() not in IMAGE_EXTENSIONS or not _INDEX.match(stem):
        return None
    return rel[-3], rel[-2], int(stem)


def load_image_folder(root: Path | str, *, cache_dir: Path | str | None = DEFAULT_CACHE_DIR) -> ImageData:
    """An image-folder tree `root/{train,test}/<class>/<index>.<ext>` (JPEG or PNG).

    Labels follow the sorted class names; each split is ordered by `<index>` so the original order of
    the dataset (into which the NAS-Bench-201 splits index) is preserved."""
    root = Path(root)
    if not (root / "train").is_dir() or not (root / "test").is_dir():
        raise ConfigError(
            f"{root} is not an image folder: expected {root}/train/<class>/<index>.<ext> and {root}/test/..."
        )
    found: list[tuple[str, str, int, Path]] = []
    for split in ("train", "test"):
        for f in (root / split).glob("*/*"):
            parsed = _parse_member(f.relative_to(root).parts)
            if parsed is not None and f.is_file():
                found.append((*parsed, f))
    return _cached("folder", root, [f for *_, f in found], cache_dir, lambda: _assemble_folder(found, root))


def _tar_images(path: Path) -> Iterator[tuple[str, str, int, bytes]]:
    with _open_tar(path) as tar:
        for m in tar:
            parsed = _parse_member(tuple(Path(m.name).parts)) if m.isfile() else None
            f = tar.extractfile(m) if parsed is not None else None
            if parsed is not None and f is not None:
                yield (*parsed, f.read())


def load_image_folder_tar(path: Path | str, *, cache_dir: Path | str | None = DEFAULT_CACHE_DIR) -> ImageData:
    """An image-folder tree packed in a tar(.gz): streamed, decoded in memory, never extracted."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no archive at {path}")
    return _cached("folder-tar", path, [path], cache_dir, lambda: _assemble_folder(_tar_images(path), path))


def load_cifar10_jpeg_tar(path: Path | str, *, cache_dir: Path | str | None = DEFAULT_CACHE_DIR) -> ImageData:
    """`cifar10-jpeg.tar.gz` (all of CIFAR-10 as JPEGs in image-folder layout, ../shared/datasets).

    Note its README's caveat: the pixels went through JPEG (about 30 dB PSNR), so absolute accuracies
    are somewhat below published CIFAR-10 numbers; rankings are what it validates."""
    data = load_image_folder_tar(path, cache_dir=cache_dir)
    got = (len(data.train_x), len(data.test_x), len(data.classes), data.image_shape)
    if got != (50_000, 10_000, 10, (32, 32, 3)):
        raise ConfigError(
            f"{path} is not all of CIFAR-10: (train, test, classes, shape) = {got}, expected (50000, 10000, 10, (32, 32, 3))"
        )
    return data


# ============================================================================ ImageNet16
IMAGENET16_TRAIN = tuple(f"train_data_batch_{i}" for i in range(1, 11))
IMAGENET16_TEST = "val_data"


def load_imagenet16(
    path: Path | str, *, num_classes: int = 120, cache_dir: Path | str | None = DEFAULT_CACHE_DIR
) -> ImageData:
    """ImageNet16-`num_classes` from the downsampled-ImageNet 16x16 files (`train_data_batch_1..10`,
    `val_data`): keeps the images whose label is in 1..num_classes and shifts labels to 0-based, as
    NAS-Bench-201's loader does (ImageNet16-120: 151700 train, 6000 test images)."""
    path = Path(path)
    if not 0 < num_classes <= 1000:
        raise ConfigError(f"num_classes must be in 1..1000, got {num_classes}")
    files = [path / n for n in (*IMAGENET16_TRAIN, IMAGENET16_TEST)]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise ConfigError(f"{path} is not an ImageNet16 directory: missing {missing}")

    def part(names: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = [], []
        for n in names:
            with open(path / n, "rb") as f:
                entry = _unpickle(f, f"{path / n}")
            labels = np.asarray(_field(entry, "labels", n), dtype=np.int64)
            keep = (labels >= 1) & (labels <= num_classes)
            xs.append(_chw_rows_to_nhwc(_field(entry, "data", n), 16, n)[keep])
            ys.append(labels[keep] - 1)
        return np.concatenate(xs), np.concatenate(ys)

    def decode() -> ImageData:
        return ImageData(
            *part(IMAGENET16_TRAIN),
            *part([IMAGENET16_TEST]),
            tuple(str(k) for k in range(1, num_classes + 1)),
        )

    return _cached(f"imagenet16-{num_classes}", path, files, cache_dir, decode)


# ============================================================================ splits
def load_split(splits_dir: Path | str, dataset: str) -> Split:
    """The official NAS-Bench-201 split of `dataset`, read from `splits_dir` (the benchmark's
    `configs/nas-benchmark/` files: JSON of `{"name": ["int", ["0", "5", ...]]}`).

    cifar10-valid: `train`/`valid` (25k each) index the CIFAR-10 train set. cifar100 and ImageNet16-120:
    `valid`/`test` (the x-valid / x-test halves) index the test set. cifar10 has no split."""
    if dataset not in SPLIT_FILES:
        if dataset in DATASETS:
            raise ConfigError(
                f"{dataset} has no split file: it trains on the whole train set and reports the test set"
            )
        raise unknown("dataset", dataset, SPLIT_FILES)
    file_name, (first, second), source = SPLIT_FILES[dataset]
    path = Path(splits_dir) / file_name
    try:
        raw = json.loads(path.read_text())
        parts = {k: np.array([int(v) for v in raw[k][1]], dtype=np.int64) for k in (first, second)}
    except FileNotFoundError:
        raise ConfigError(f"no split file {path}: splits_dir must hold NAS-Bench-201's {file_name}") from None
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise SuiteError(f"cannot parse {path}: {type(exc).__name__}: {exc}") from None
    a, b = parts[first], parts[second]
    if np.intersect1d(a, b).size or len(np.unique(a)) != len(a) or len(np.unique(b)) != len(b):
        raise SuiteError(f"{path}: the {first} and {second} indices must be distinct and disjoint")
    names = ("train", "valid") if source == "train" else ("valid", "test")
    return Split(dataset, source, {names[0]: a, names[1]: b})


def _take(x: np.ndarray, y: np.ndarray, idx: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    if len(idx) and (idx.min() < 0 or idx.max() >= len(x)):
        raise ConfigError(
            f"split index {idx.max()} out of range for {len(x)} {what} images: the NAS-Bench-201 splits "
            "index the complete original set; load the whole dataset"
        )
    return x[idx], y[idx]


def nb201_dataset(name: str, images: ImageData, *, split: Split | None = None) -> LiveDataset:
    """The train / valid / test arrays of NAS-Bench-201 dataset `name` (e.g. 'cifar10-valid') cut from
    `images` by the official `split` (from `load_split`; none for 'cifar10'), with NB201's constants."""
    if name not in DATASETS:
        raise unknown("dataset", name, DATASETS)
    if (split is None) != (name == "cifar10"):
        raise ConfigError(
            f"{name}: "
            + (
                "cifar10 trains on all 50k images and takes no split"
                if split is not None
                else f"pass split=load_split(splits_dir, {name!r})"
            )
        )
    if split is not None and split.dataset != name:
        raise ConfigError(f"the split is {split.dataset!r}'s, not {name!r}'s")
    mean, std = NORMALIZATION["cifar10" if name in ("cifar10", "cifar10-valid") else name]
    train_x, train_y, test_x, test_y = images.train_x, images.train_y, images.test_x, images.test_y
    valid_x = valid_y = None
    if split is not None and split.source == "train":
        (valid_x, valid_y), (train_x, train_y) = (
            _take(images.train_x, images.train_y, split.indices["valid"], "train"),
            _take(images.train_x, images.train_y, split.indices["train"], "train"),
        )
    elif split is not None:
        (valid_x, valid_y), (test_x, test_y) = (
            _take(images.test_x, images.test_y, split.indices["valid"], "test"),
            _take(images.test_x, images.test_y, split.indices["test"], "test"),
        )
    return LiveDataset(
        name=name,
        train_x=train_x,
        train_y=train_y,
        valid_x=valid_x,
        valid_y=valid_y,
        test_x=test_x,
        test_y=test_y,
        mean=mean,
        std=std,
        num_classes=DATASETS[name].n_classes,
        crop_padding=2 if images.image_shape[0] <= 16 else 4,
    )
