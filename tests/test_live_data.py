"""Live-training data (loaders, cache, splits) and the NAS-Bench-201 recipe, on tiny synthetic data."""

from __future__ import annotations

import io
import math
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch._dynamo  # torch.optim imports it on first use (seconds): paid at collection, not in a test
from PIL import Image
from torch import nn

from nasbench_suite.errors import ConfigError, SuiteError
from nasbench_suite.live_training import data as live_data
from nasbench_suite.live_training.data import (
    ImageData,
    LiveDataset,
    Split,
    load_cifar10_jpeg_tar,
    load_cifar_python,
    load_image_folder,
    load_image_folder_tar,
    load_imagenet16,
    load_split,
    nb201_dataset,
)
from nasbench_suite.live_training.recipe import augment, crop_flip, nb201_lr, resolve_device, train

SPLITS = Path(__file__).resolve().parents[2] / "shared" / "nasbench201" / "splits"
CLASSES = ("cat", "dog", "frog")


# ============================================================================ writing the standard formats
class _Py2Pickler(pickle._Pickler):  # type: ignore[name-defined]
    """Writes bytes as python-2 `str` opcodes (SHORT_BINSTRING / BINSTRING), as the original CIFAR and
    downsampled-ImageNet files (cPickle, protocol 2) do; a py3 pickler would name `_codecs.encode`."""

    dispatch = pickle._Pickler.dispatch.copy()  # type: ignore[attr-defined]

    def save_py2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def py2_pickle(obj: object) -> bytes:
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def chw_rows(images: np.ndarray) -> np.ndarray:
    """NHWC uint8 -> the (N, 3*H*W) row layout of CIFAR / downsampled ImageNet."""
    return images.transpose(0, 3, 1, 2).reshape(len(images), -1)


def random_images(n: int, side: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, side, side, 3), dtype=np.uint8)


def write_cifar10_dir(
    root: Path, per_batch: int = 4
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    root.mkdir(parents=True)
    train_x, test_x = random_images(5 * per_batch, 32, 0), random_images(per_batch, 32, 1)
    train_y = np.arange(5 * per_batch) % 10
    test_y = (np.arange(per_batch) * 3) % 10
    for b in range(5):
        s = slice(b * per_batch, (b + 1) * per_batch)
        entry = {
            b"batch_label": b"training batch",
            b"labels": train_y[s].tolist(),
            b"data": chw_rows(train_x[s]),
        }
        (root / f"data_batch_{b + 1}").write_bytes(py2_pickle(entry))
    (root / "test_batch").write_bytes(py2_pickle({b"labels": test_y.tolist(), b"data": chw_rows(test_x)}))
    names = [f"c{k}".encode() for k in range(10)]
    (root / "batches.meta").write_bytes(
        py2_pickle({b"label_names": names, b"num_cases_per_batch": per_batch})
    )
    return train_x, train_y, test_x, test_y


def write_image_folder(
    root: Path, n_train: int = 7, n_test: int = 4
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{train,test}/<class>/<index>.png with the classes interleaved, so only index order restores it."""
    out = {}
    for split, n, seed in (("train", n_train, 2), ("test", n_test, 3)):
        images = random_images(n, 8, seed)
        labels = np.array([(i * 2) % len(CLASSES) for i in range(n)])
        for i in range(n):
            d = root / split / CLASSES[labels[i]]
            d.mkdir(parents=True, exist_ok=True)
            Image.fromarray(images[i]).save(d / f"{i:05d}.png")  # PNG: lossless, compared exactly
        out[split] = (images, labels)
    return out


# ============================================================================ loaders
def test_cifar_python_dir_and_tar_preserve_order_and_cache(tmp_path: Path) -> None:
    src = tmp_path / "cifar-10-batches-py"
    train_x, train_y, test_x, test_y = write_cifar10_dir(src)
    data = load_cifar_python(src, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(data.train_x, train_x)
    np.testing.assert_array_equal(data.train_y, train_y)
    np.testing.assert_array_equal(data.test_x, test_x)
    np.testing.assert_array_equal(data.test_y, test_y)
    assert data.train_x.dtype == np.uint8 and data.train_y.dtype == np.int64
    assert data.classes == tuple(f"c{k}" for k in range(10))

    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src, arcname="cifar-10-batches-py")
    from_tar = load_cifar_python(archive, cache_dir=None)
    np.testing.assert_array_equal(from_tar.train_x, train_x)
    np.testing.assert_array_equal(from_tar.test_y, test_y)


def test_cifar100_uses_fine_labels(tmp_path: Path) -> None:
    src = tmp_path / "cifar-100-python"
    src.mkdir()
    x = random_images(3, 32, 4)
    for part, fine in (("train", [5, 99, 0]), ("test", [1, 2, 3])):
        entry = {b"data": chw_rows(x), b"fine_labels": fine, b"coarse_labels": [0, 0, 0]}
        (src / part).write_bytes(py2_pickle(entry))
    (src / "meta").write_bytes(py2_pickle({b"fine_label_names": [b"x"] * 100}))
    data = load_cifar_python(src, cache_dir=None)
    assert data.train_y.tolist() == [5, 99, 0] and len(data.classes) == 100


def test_malicious_pickle_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "cifar-10-batches-py"
    write_cifar10_dir(src)
    (src / "test_batch").write_bytes(b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03.")
    with pytest.raises(SuiteError, match=r"refusing to load os\.system"):
        load_cifar_python(src, cache_dir=None)


def test_second_load_reads_the_cache_without_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "cifar-10-batches-py"
    write_cifar10_dir(src)
    cache = tmp_path / "cache"
    first = load_cifar_python(src, cache_dir=cache)
    files = sorted(cache.rglob("*.npy"))
    assert len(files) == 5
    mtimes = [f.stat().st_mtime_ns for f in files]

    def no_decode(*args: object, **kwargs: object) -> None:
        raise AssertionError("decoded again despite the cache")

    monkeypatch.setattr(live_data, "_decode_cifar", no_decode)
    second = load_cifar_python(src, cache_dir=cache)
    np.testing.assert_array_equal(second.train_x, first.train_x)
    assert second.classes == first.classes
    assert [f.stat().st_mtime_ns for f in sorted(cache.rglob("*.npy"))] == mtimes
    # a changed source is a different cache entry
    (src / "test_batch").write_bytes((src / "test_batch").read_bytes())
    with pytest.raises(AssertionError, match="decoded again"):
        load_cifar_python(src, cache_dir=cache)


def test_image_folder_orders_by_index_and_labels_by_sorted_class(tmp_path: Path) -> None:
    truth = write_image_folder(tmp_path / "tree")
    data = load_image_folder(tmp_path / "tree", cache_dir=tmp_path / "cache")
    assert data.classes == tuple(sorted(CLASSES))
    label_of = {CLASSES.index(c): k for k, c in enumerate(sorted(CLASSES))}
    for split, (x, y) in (("train", (data.train_x, data.train_y)), ("test", (data.test_x, data.test_y))):
        np.testing.assert_array_equal(x, truth[split][0])
        assert y.tolist() == [label_of[v] for v in truth[split][1]]
    again = load_image_folder(tmp_path / "tree", cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(again.train_x, data.train_x)


def test_image_folder_tar_with_jpeg(tmp_path: Path) -> None:
    root = tmp_path / "cifar10-jpeg"
    flat = np.zeros((8, 8, 3), dtype=np.uint8)
    for split, n in (("train", 3), ("test", 2)):
        for i in range(n):
            d = root / split / CLASSES[i % 2]
            d.mkdir(parents=True, exist_ok=True)
            flat[:] = 40 * (i + 1)  # flat colours survive JPEG almost exactly
            Image.fromarray(flat).save(d / f"{i:05d}.jpg", quality=95)
    archive = tmp_path / "tiny.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname="cifar10-jpeg")
    data = load_image_folder_tar(archive, cache_dir=tmp_path / "cache")
    assert data.train_x.shape == (3, 8, 8, 3) and data.test_x.shape == (2, 8, 8, 3)
    np.testing.assert_allclose(data.train_x.mean(axis=(1, 2, 3)), [40, 80, 120], atol=2)
    assert data.train_y.tolist() == [0, 1, 0]
    with pytest.raises(ConfigError, match="not all of CIFAR-10"):
        load_cifar10_jpeg_tar(archive, cache_dir=tmp_path / "cache")


def test_imagenet16_keeps_classes_1_to_n_and_shifts_labels(tmp_path: Path) -> None:
    x = random_images(6, 16, 5)
    labels = [1, 500, 120, 121, 3, 1000]
    for name in [f"train_data_batch_{i}" for i in range(1, 11)] + ["val_data"]:
        entry = {b"data": chw_rows(x), b"labels": labels, b"mean": np.zeros(768, dtype=np.float32)}
        (tmp_path / name).write_bytes(py2_pickle(entry))
    data = load_imagenet16(tmp_path, cache_dir=None)
    assert data.test_y.tolist() == [0, 119, 2]
    np.testing.assert_array_equal(data.test_x, x[[0, 2, 4]])
    assert data.train_x.shape == (30, 16, 16, 3) and len(data.classes) == 120


# ============================================================================ splits and datasets
@pytest.mark.realdata
@pytest.mark.parametrize(
    ("dataset", "source", "sizes"),
    [
        ("cifar10-valid", "train", {"train": 25_000, "valid": 25_000}),
        ("cifar100", "test", {"valid": 5_000, "test": 5_000}),
        ("ImageNet16-120", "test", {"valid": 3_000, "test": 3_000}),
    ],
)
def test_official_splits_parse(dataset: str, source: str, sizes: dict[str, int]) -> None:
    split = load_split(SPLITS, dataset)
    assert split.source == source
    assert {k: len(v) for k, v in split.indices.items()} == sizes
    both = np.concatenate(list(split.indices.values()))
    assert np.array_equal(np.sort(both), np.arange(sum(sizes.values())))  # disjoint halves of the whole set
    if dataset == "cifar10-valid":  # the first indices AutoDL-Projects asserts
        assert split.indices["train"][:5].tolist() == [0, 5, 7, 11, 13]
        assert split.indices["valid"][:5].tolist() == [1, 2, 3, 4, 6]
    with pytest.raises(ConfigError, match="no split file"):
        load_split(SPLITS, "cifar10")


def test_nb201_dataset_cuts_the_splits() -> None:
    rng = np.random.default_rng(0)
    images = ImageData(
        random_images(10, 32, 6),
        rng.integers(0, 10, 10),
        random_images(6, 32, 7),
        rng.integers(0, 10, 6),
        ("x",) * 100,
    )
    split = Split("cifar100", "test", {"valid": np.array([1, 3, 5]), "test": np.array([0, 2, 4])})
    ds = nb201_dataset("cifar100", images, split=split)
    np.testing.assert_array_equal(ds.valid_x, images.test_x[[1, 3, 5]])
    np.testing.assert_array_equal(ds.test_y, images.test_y[[0, 2, 4]])
    assert ds.train_x is images.train_x and ds.num_classes == 100 and ds.crop_padding == 4
    assert ds.mean == pytest.approx([129.3 / 255, 124.1 / 255, 112.4 / 255])
    c10 = nb201_dataset("cifar10", images, split=None)
    assert c10.valid_x is None and c10.std == pytest.approx([63.0 / 255, 62.1 / 255, 66.7 / 255])
    with pytest.raises(ConfigError, match="pass split="):
        nb201_dataset("cifar10-valid", images)
    far = Split("cifar10-valid", "train", {"train": np.array([0, 2]), "valid": np.array([1, 49_999])})
    with pytest.raises(ConfigError, match="out of range"):
        nb201_dataset("cifar10-valid", images, split=far)


# ============================================================================ recipe pieces
def test_crop_flip_shapes_padding_and_flip() -> None:
    img = torch.arange(2 * 8 * 8 * 3, dtype=torch.int64).reshape(2, 8, 8, 3).to(torch.uint8) + 1  # no zeros
    same = crop_flip(img, torch.tensor([2, 2]), torch.tensor([2, 2]), torch.tensor([False, False]), 2)
    assert torch.equal(same, img)
    flipped = crop_flip(img, torch.tensor([2, 2]), torch.tensor([2, 2]), torch.tensor([True, False]), 2)
    assert torch.equal(flipped[0], torch.flip(img[0], dims=[1])) and torch.equal(flipped[1], img[1])
    corner = crop_flip(img, torch.tensor([0, 4]), torch.tensor([0, 4]), torch.tensor([False, False]), 2)
    assert corner.shape == img.shape
    assert (corner[0, :2] == 0).all() and (corner[0, :, :2] == 0).all()  # zero padding on top/left
    assert torch.equal(corner[0, 2:, 2:], img[0, :6, :6])
    assert torch.equal(corner[1, :6, :6], img[1, 2:, 2:]) and (corner[1, 6:] == 0).all()
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(augment(img, 2, g1), augment(img, 2, g2))


def test_lr_is_nb201_cosine_constant_within_an_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    assert nb201_lr(0, base_lr=0.1, schedule_epochs=200) == pytest.approx(0.1)
    assert nb201_lr(100, base_lr=0.1, schedule_epochs=200) == pytest.approx(0.05)
    assert nb201_lr(11, base_lr=0.1, schedule_epochs=12) == pytest.approx(
        0.05 * (1 + math.cos(math.pi * 11 / 12))
    )
    step_lrs: list[float] = []
    sgd_step = torch.optim.SGD.step

    def recording_step(self: torch.optim.SGD, *args: object, **kwargs: object) -> object:
        step_lrs.append(self.param_groups[0]["lr"])
        return sgd_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.SGD, "step", recording_step)
    result = train(small_net(), separable_data(n=64), epochs=3, schedule_epochs=5, batch_size=16, threads=1)
    expected = [0.05 * (1 + math.cos(math.pi * e / 5)) for e in range(3)]
    assert [e.lr for e in result.epochs] == pytest.approx(expected)
    assert step_lrs == pytest.approx([lr for lr in expected for _ in range(4)])  # 64 / 16 steps per epoch


def test_device_errors() -> None:
    if not torch.cuda.is_available():
        with pytest.raises(
            SuiteError, match=r"cuda requested but torch\.cuda\.is_available\(\) is False; valid: cpu"
        ):
            resolve_device("cuda")
    with pytest.raises(ConfigError, match="unknown device"):
        resolve_device("gpu0")
    assert resolve_device("cpu").type == "cpu"


# ============================================================================ training behaviour
def separable_data(n: int = 256, side: int = 8, seed: int = 0) -> LiveDataset:
    """Two classes: a bright top half or a bright bottom half, plus noise (survives crops and flips)."""
    rng = np.random.default_rng(seed)

    def make(m: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 2, m)
        x = rng.integers(0, 60, (m, side, side, 3))
        half = side // 2
        x[y == 0, :half] += 180
        x[y == 1, half:] += 180
        return x.astype(np.uint8), y.astype(np.int64)

    (tx, ty), (vx, vy), (sx, sy) = make(n), make(64), make(64)
    return LiveDataset("synthetic", tx, ty, vx, vy, sx, sy, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), 2, 1)


def small_net(seed: int = 0) -> nn.Module:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1, bias=False),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d((2, 1)),
            nn.Flatten(),
            nn.Linear(16, 2),
        )


def test_a_few_epochs_learn_separable_data() -> None:
    result = train(small_net(), separable_data(), epochs=5, batch_size=32, lr=0.1, threads=1)
    assert result.final.valid_acc is not None and result.final.valid_acc >= 95
    assert result.final.test_acc is not None and result.final.test_acc >= 95
    assert result.train_loss[-1] < result.train_loss[0]
    assert result.train_seconds > 0 and len(result.epochs) == 5


def test_eval_every_and_missing_valid_split() -> None:
    data = separable_data(n=64)
    no_valid = LiveDataset(
        "c", data.train_x, data.train_y, None, None, data.test_x, data.test_y, data.mean, data.std, 2, 1
    )
    result = train(small_net(), no_valid, epochs=3, batch_size=32, eval_every=2, threads=1)
    assert result.valid_acc == (None, None, None)
    assert [a is not None for a in result.test_acc] == [False, True, True]


class Interrupt(Exception):
    pass


def test_resume_after_a_kill_reaches_the_same_weights(tmp_path: Path) -> None:
    data = separable_data(n=96)
    reference = small_net(seed=1)
    full = train(reference, data, epochs=3, batch_size=32, seed=7, threads=1)

    ckpt = tmp_path / "run.pt"

    def kill_after_first(stats: object) -> None:
        raise Interrupt

    with pytest.raises(Interrupt):
        train(
            small_net(seed=1),
            data,
            epochs=3,
            batch_size=32,
            seed=7,
            checkpoint=ckpt,
            on_epoch=kill_after_first,
            threads=1,
        )
    resumed_model = small_net(seed=2)  # a fresh process would build a fresh network; the checkpoint wins
    resumed = train(resumed_model, data, epochs=3, batch_size=32, seed=7, checkpoint=ckpt, threads=1)
    for (name, a), b in zip(reference.state_dict().items(), resumed_model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert resumed.train_loss == full.train_loss and resumed.valid_acc == full.valid_acc
    with pytest.raises(ConfigError, match="another run"):
        train(small_net(seed=1), data, epochs=3, batch_size=16, seed=7, checkpoint=ckpt, threads=1)


def test_out_of_memory_becomes_batch_size_advice() -> None:
    class Greedy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.zeros(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    with pytest.raises(SuiteError, match=r"out of memory .* batch_size=32 .* lower batch_size \(e\.g\. 16\)"):
        train(Greedy(), separable_data(n=32), epochs=1, batch_size=32, threads=1)
