"""NAS-Bench-201's datasets and the rules tied to their splits; the cifar10 / cifar10-valid rule lives here.

- `cifar10-valid`: trained on 25k of CIFAR-10 train, validated on the other 25k, tested on CIFAR-10 test.
- `cifar10`: trained on all 50k; there is no validation split, so nobody can search on it.
- `cifar100`, `ImageNet16-120`: validation (x-valid) and test (x-test) are the two halves of the test set.
"""

from __future__ import annotations

from dataclasses import dataclass

from nasbench_suite.errors import ConfigError, unknown


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    n_train: int
    n_valid: int  # 0: no validation split
    n_classes: int


DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in (
        DatasetInfo("cifar10-valid", 25_000, 25_000, 10),
        DatasetInfo("cifar10", 50_000, 0, 10),
        DatasetInfo("cifar100", 50_000, 5_000, 100),
        DatasetInfo("ImageNet16-120", 151_700, 3_000, 120),
    )
}
SEARCH_DATASETS: tuple[str, ...] = ("cifar10-valid", "cifar100", "ImageNet16-120")

# A forward pass costs about a third of a forward + backward pass. The benchmark records the time of
# a training epoch for every arch but the validation time only in the official per-arch files, so the
# validation pass is priced as n_valid / n_train / 3 training epochs. On the 3 official sample records
# this is exact for the largest arch and underestimates the smallest by up to 0.4 s (fixed overheads).
FORWARD_FRACTION = 1.0 / 3.0


def dataset_info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise unknown("dataset", name, DATASETS)
    return DATASETS[name]


def check_search_dataset(name: str) -> str:
    dataset_info(name)
    if name not in SEARCH_DATASETS:
        raise ConfigError(
            f"cannot search on {name!r}: it has no validation split; search on cifar10-valid "
            f"(its results are reported on cifar10). Search datasets: {', '.join(SEARCH_DATASETS)}"
        )
    return name


def report_dataset(search_dataset: str) -> str:
    """Where the found arch's test accuracy is reported: a search on cifar10-valid is reported on cifar10
    (trained on all 50k images), as NAS-Bench-201 does; the others on themselves."""
    return "cifar10" if search_dataset == "cifar10-valid" else search_dataset


def validation_epoch_fraction(name: str) -> float:
    """Cost of one validation pass in training epochs (the approximation described above)."""
    info = dataset_info(name)
    return info.n_valid / info.n_train * FORWARD_FRACTION
