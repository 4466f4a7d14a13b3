"""From paths on disk to the `LiveDataset` of a NAS-Bench-201 dataset name: picks the right loader.

The suite ships no images; users point `--images` at what they have: the CIFAR python archives (or
their extracted directories), an image-folder tree (or a tar of one, like ../shared's CIFAR-10 JPEGs)
or the ImageNet16 directory. The official split files come from `--splits`.
"""

from __future__ import annotations

from pathlib import Path

from nasbench_suite.datasets import dataset_info
from nasbench_suite.errors import ConfigError
from nasbench_suite.live_training.data import (
    ImageData,
    LiveDataset,
    load_cifar10_jpeg_tar,
    load_cifar_python,
    load_image_folder,
    load_image_folder_tar,
    load_imagenet16,
    load_split,
    nb201_dataset,
)


def load_images(path: Path | str, dataset: str) -> ImageData:
    """The images of `dataset`'s source (CIFAR-10 for cifar10 / cifar10-valid) found at `path`."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(
            f"no images at {path}: give the CIFAR python archive, an image-folder tree or tar, or the "
            "ImageNet16 directory (--images)"
        )
    if dataset == "ImageNet16-120":
        return load_imagenet16(path, num_classes=120)
    if path.is_dir():
        if (path / "train").is_dir():
            return load_image_folder(path)
        return load_cifar_python(path)
    if "python" in path.name:
        return load_cifar_python(path)
    if dataset in ("cifar10", "cifar10-valid") and "jpeg" in path.name:
        return load_cifar10_jpeg_tar(path)
    return load_image_folder_tar(path)


def live_dataset(dataset: str, images: Path | str, splits: Path | str) -> LiveDataset:
    """`dataset` (a NAS-Bench-201 name) cut from the images at `images` by the official split."""
    loaded = load_images(images, dataset)
    info = dataset_info(dataset)
    if len(loaded.classes) != info.n_classes:
        raise ConfigError(
            f"{images} holds {len(loaded.classes)} classes, but {dataset} has {info.n_classes}: give {dataset}'s "
            "own images with --images"
        )
    split = None if dataset == "cifar10" else load_split(splits, dataset)
    return nb201_dataset(dataset, loaded, split=split)
