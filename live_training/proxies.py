"""Zero-cost proxies computed live in PyTorch on one minibatch, and their validation against the table.

`score(name, model, images, labels)` returns one float. Every proxy works on a deep copy of `model`: the
caller's weights, buffers, gradients and train/eval mode are never touched, and torch's global RNG is
never drawn from (zen's Gaussian draws come from `generator`). `images` are normalized float NCHW.

Definitions (each as in its reference code, deviations listed below):
- synflow: Tanaka et al. 2020, "Pruning neural networks without any data by iteratively conserving synaptic
  flow", scored as in Abdelfattah et al. 2021, "Zero-Cost Proxies for Lightweight NAS" (code: foresight,
  SamsungLabs/zero-cost-nas, `bn=False`): BatchNorm removed, every parameter replaced by its absolute value,
  float64, one all-ones image; R = sum of the logits; score = sum over conv and linear weights of
  |w * dR/dw|. Only the input's shape is used.
- snip (Lee et al. 2019, as in Abdelfattah et al.): BN in train mode, L = mean cross-entropy of the
  minibatch; score = sum over conv and linear weights of |w * dL/dw| (foresight's |dL/d mask| at mask 1).
- grad_norm (Abdelfattah et al.): same loss; score = sum over conv and linear layers of ||dL/dW||_2.
- jacob_cov (Mellor et al., NASWOT paper v1, as in foresight): BN in train mode, J = d(sum of logits)/dx
  flattened per image, C = corrcoef(J), score = -sum(log(v + k) + 1 / (v + k)) over C's eigenvalues v,
  k = 1e-5. NaN when an image's Jacobian is constant (an output that ignores the input; foresight's
  exception path returns NaN too).
- naswot: Mellor et al. 2021, "Neural Architecture Search without Training" (ICML; paper v2, code
  BayesWatch/nas-without-training `score_networks.py`, `hook_logdet`): BN in train mode; at every nn.ReLU
  call c = (ReLU input > 0) per image, flattened; K = sum over calls of c c^T + (1 - c)(1 - c)^T, the number
  of units on which two images agree; score = log|det K|. -inf when K is singular (e.g. two identical
  images, or every ReLU input independent of the image).
- zen: Lin et al. 2021, "Zen-NAS: A Zero-Shot NAS for High-Performance Image Recognition" (ICCV; code
  idstcv/ZenNAS `compute_zen_score.py`, NASLib `measures/zen.py`): conv and linear weights redrawn N(0, 1)
  (biases 0), BN affine 1 / 0 and running statistics reset, BN in train mode; x, e ~ N(0, 1) in the
  minibatch's shape; f = the pre-GAP feature map, i.e. the input of the model's one nn.AdaptiveAvgPool2d
  (for `TinyNetwork` the output of `lastact`, BN + ReLU, which is what NASLib's NB201
  `forward_before_global_avg_pool` hooks); D = mean over images of sum |f(x) - f(x + 0.01 e)|; score =
  log D + sum over BatchNorm2d of log sqrt(mean running_var) after the two passes; one repeat with the
  minibatch's size (NASLib; ZenNAS's script averages 32 repeats of batch 16). -inf when D = 0.

Deviations from the reference code:
- Every proxy deep-copies the model (foresight copies too, NASWOT and Zen-NAS work in place).
- synflow replaces BN modules by nn.Identity (foresight patches their forward to the identity).
- naswot counts every nn.ReLU that runs in one no-grad forward pass; the reference first runs a backward
  pass to mark the ReLUs on the gradient path and counts those in a second forward. Every ReLU of a
  NAS-Bench-201 network is on that path, so K is the same. K is summed in float64 and a non-positive
  determinant (K is positive semi-definite, so singular) gives -inf.
- jacob_cov uses `eigvalsh` (symmetric matrix, real eigenvalues) instead of `eig`.
- zen resets the BN running statistics before scoring (the reference scores a freshly built network,
  whose statistics are the reset ones), so the score does not depend on the model's BN history. The
  BN term uses `running_var` after the two forward passes (momentum 0.1), as both reference codes do;
  the paper's formula uses the batch variance. The NASLib table stores -1e8 where this returns -inf.

Checked against the stored scores on 50 sampled archs (batch 64, seed 0): live zen vs zc_zen Spearman
0.999, live jacob_cov vs zc_naswot 0.946 (the stored naswot is the v1 Jacobian score, see STORED_PAIRS).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nasbench_suite.errors import ConfigError, unknown
from nasbench_suite.live_training.data import NORMALIZATION, ImageData
from nasbench_suite.live_training.model import build_network
from nasbench_suite.rank_agreement import rank_correlation
from nasbench_suite.seeding import SeedLike, as_generator
from nasbench_suite.store import Store

__all__ = ["PROXIES", "ProxyValidation", "proxy_batch", "sample_indices", "score", "validate_proxies"]

PROXIES: tuple[str, ...] = ("synflow", "snip", "grad_norm", "jacob_cov", "naswot", "zen")
JACOB_COV_K = 1e-5
ZEN_MIXUP = 1e-2
_BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
# (live proxy, stored table of the cifar10 dataset) compared in `validate_proxies`. The stored zc_naswot
# is NaN on exactly the 341 cells without an input-output path (a constant Jacobian) and lies in
# -2.5e6..-273.5, just below jacob_cov's bound -n for a batch of n = 256: it is the paper-v1 Jacobian
# score (jacob_cov's formula), not the v2 kernel score, so live jacob_cov is compared with it as well.
STORED_PAIRS: tuple[tuple[str, str], ...] = (
    ("naswot", "zc_naswot"),
    ("jacob_cov", "zc_naswot"),
    ("zen", "zc_zen"),
)


# ================================================================ scoring
def score(
    name: str,
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
) -> float:
    """Zero-cost proxy `name` (one of PROXIES) of `model` on the minibatch (`images`: normalized float
    (N, C, H, W), N >= 2; `labels`: int64 (N,)). Higher is better for every proxy.

    generator: draws zen's Gaussian weights and inputs (on the generator's device); None draws from a
    fresh, nondeterministically seeded generator. The other proxies are deterministic."""
    if name not in _PROXY_FUNCTIONS:
        raise unknown("zero-cost proxy", name, PROXIES)
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or not images.is_floating_point():
        got = f"{images.dtype} {tuple(images.shape)}" if isinstance(images, torch.Tensor) else type(images)
        raise ConfigError(f"The 'images' parameter of score must be a float (N, C, H, W) tensor. Got {got}.")
    if len(images) < 2:
        raise ConfigError(f"The 'images' parameter of score must hold at least 2 images. Got {len(images)}.")
    if not isinstance(labels, torch.Tensor) or labels.dtype != torch.int64 or labels.shape != (len(images),):
        got = f"{labels.dtype} {tuple(labels.shape)}" if isinstance(labels, torch.Tensor) else type(labels)
        raise ConfigError(
            f"The 'labels' parameter of score must be an int64 tensor of shape ({len(images)},). Got {got}."
        )
    net = copy.deepcopy(model).to(images.device)
    for p in net.parameters():
        p.grad = None
        p.requires_grad_(True)
    return _PROXY_FUNCTIONS[name](net, images.detach(), labels.to(images.device), generator)


def _weighted_layers(net: nn.Module) -> list[nn.Conv2d | nn.Linear]:
    return [m for m in net.modules() if isinstance(m, nn.Conv2d | nn.Linear)]


def _synflow(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, _: Any) -> float:
    for module in list(net.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, _BATCHNORMS):
                setattr(module, child_name, nn.Identity())
    net.double()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    net(torch.ones((1, *images.shape[1:]), dtype=torch.float64, device=images.device)).sum().backward()
    with torch.no_grad():
        return sum(
            float((layer.weight * layer.weight.grad).abs().sum())
            for layer in _weighted_layers(net)
            if layer.weight.grad is not None
        )


def _loss_backward(net: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> list[nn.Conv2d | nn.Linear]:
    net.train()
    F.cross_entropy(net(images), labels).backward()
    return [layer for layer in _weighted_layers(net) if layer.weight.grad is not None]


def _snip(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, _: Any) -> float:
    layers = _loss_backward(net, images, labels)
    with torch.no_grad():
        return sum(
            float((layer.weight.grad * layer.weight).abs().sum())
            for layer in layers
            if layer.weight.grad is not None
        )


def _grad_norm(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, _: Any) -> float:
    layers = _loss_backward(net, images, labels)
    return sum(float(layer.weight.grad.norm()) for layer in layers if layer.weight.grad is not None)


def _jacob_cov(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, _: Any) -> float:
    net.train()
    x = images.clone().requires_grad_(True)
    out = net(x)
    out.backward(torch.ones_like(out))
    assert x.grad is not None
    jacobian = x.grad.reshape(len(x), -1).to(torch.float64).cpu().numpy()
    if (jacobian.std(axis=1) == 0).any():
        return math.nan
    v = np.linalg.eigvalsh(np.corrcoef(jacobian))
    return float(-np.sum(np.log(v + JACOB_COV_K) + 1.0 / (v + JACOB_COV_K)))


def _naswot(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, _: Any) -> float:
    n = len(images)
    kernel = torch.zeros((n, n), dtype=torch.float64, device=images.device)

    def count(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        codes = (args[0] > 0).reshape(n, -1)
        units = codes.shape[1]
        # float32 sums of 0/1 products are exact below 2**24
        c = codes.to(torch.float32 if units < 2**24 else torch.float64)
        agree = 2 * (c @ c.T) - c.sum(1)[:, None] - c.sum(1)[None, :] + units  # c c^T + (1-c)(1-c)^T
        kernel.add_(agree.to(torch.float64))

    handles = [m.register_forward_pre_hook(count) for m in net.modules() if isinstance(m, nn.ReLU)]
    net.train()
    try:
        with torch.no_grad():
            net(images)
    finally:
        for handle in handles:
            handle.remove()
    sign, logdet = torch.linalg.slogdet(kernel)
    return float(logdet) if float(sign) > 0 else -math.inf


def _gaussian(shape: torch.Size, generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    drawn = torch.randn(shape, generator=generator, device=generator.device, dtype=like.dtype)
    return drawn.to(like.device)


def _zen(
    net: nn.Module, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator | None
) -> float:
    if generator is None:
        generator = torch.Generator()
        generator.seed()  # fresh entropy, not torch's global generator
    pools = [m for m in net.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    if len(pools) != 1:
        raise ConfigError(
            f"zen needs a model with exactly one nn.AdaptiveAvgPool2d (its input is the pre-GAP feature map). Got {len(pools)}."
        )
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                m.weight.copy_(_gaussian(m.weight.shape, generator, m.weight))
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, _BATCHNORMS):
                if m.affine:
                    m.weight.fill_(1.0)
                    m.bias.zero_()
                if m.track_running_stats:
                    m.reset_running_stats()
    x = _gaussian(images.shape, generator, images)
    mixed = x + ZEN_MIXUP * _gaussian(images.shape, generator, images)
    features: list[torch.Tensor] = []
    handle = pools[0].register_forward_pre_hook(lambda m, args: features.append(args[0].clone()))
    net.train()
    try:
        with torch.no_grad():
            net(x)
            net(mixed)
    finally:
        handle.remove()
    difference = (features[0] - features[1]).abs().flatten(1).sum(1).mean().double()
    log_bn = sum(
        0.5 * math.log(float(m.running_var.double().mean()))
        for m in net.modules()
        if isinstance(m, nn.BatchNorm2d) and m.running_var is not None
    )
    return float(torch.log(difference)) + log_bn


_PROXY_FUNCTIONS: dict[str, Callable[..., float]] = {
    "synflow": _synflow,
    "snip": _snip,
    "grad_norm": _grad_norm,
    "jacob_cov": _jacob_cov,
    "naswot": _naswot,
    "zen": _zen,
}
assert tuple(_PROXY_FUNCTIONS) == PROXIES


# ================================================================ data
def proxy_batch(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    n: int,
    mean: Sequence[float],
    std: Sequence[float],
    rng: np.random.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """n distinct images drawn uniformly from uint8 (N, H, W, C) `images`, as normalized float32
    (n, C, H, W) (`mean`/`std` per channel in [0, 1] pixel units, e.g. NORMALIZATION["cifar10"]), and
    their int64 labels."""
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ConfigError(
            f"The 'images' parameter of proxy_batch must be uint8 (N, H, W, C). Got {images.dtype} {images.shape}."
        )
    if labels.shape != (len(images),):
        raise ConfigError(
            f"The 'labels' parameter of proxy_batch must have shape ({len(images)},). Got {labels.shape}."
        )
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(images):
        raise ConfigError(f"The 'n' parameter of proxy_batch must be an int in 1..{len(images)}. Got {n!r}.")
    pick = np.sort(rng.choice(len(images), size=n, replace=False))
    x = torch.from_numpy(images[pick]).permute(0, 3, 1, 2).to(torch.float32) / 255
    shift = torch.tensor(mean, dtype=torch.float32)[:, None, None]
    scale = torch.tensor(std, dtype=torch.float32)[:, None, None]
    return ((x - shift) / scale).contiguous(), torch.from_numpy(labels[pick].astype(np.int64))


# ================================================================ validation against the table
@dataclass(frozen=True)
class ArchScores:
    """One arch's live proxy scores, the seconds each took and its network's build seconds: what a
    resumed `validate_proxies` reuses (an arch's scores do not depend on the other archs or proxies)."""

    index: int
    scores: dict[str, float]
    seconds: dict[str, float]
    build_seconds: float

    def to_json(self) -> dict[str, Any]:
        """JSON data; NaN and infinite scores as JSON's NaN / Infinity, which `from_json` reads back."""
        return {
            "index": self.index,
            "scores": self.scores,
            "seconds": self.seconds,
            "build_seconds": self.build_seconds,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ArchScores:
        return cls(
            int(doc["index"]),
            {str(p): float(v) for p, v in doc["scores"].items()},
            {str(p): float(v) for p, v in doc["seconds"].items()},
            float(doc["build_seconds"]),
        )


@dataclass(frozen=True, eq=False)
class ProxyValidation:
    """Live proxies of `indices` (archs of the table) vs. the table. `scores[p]`/`seconds[p]`: per arch;
    `spearman`/`kendall`/`n_used` over the archs whose score is not NaN; `stored[(p, table)]`: Spearman
    (and arch count) of live `p` vs. the stored cifar10 `table` where that value is not NaN."""

    indices: np.ndarray
    proxies: tuple[str, ...]
    batch: int
    seed: int
    accuracy: np.ndarray  # cifar10-valid valid_acc@200, seed mean
    scores: dict[str, np.ndarray]
    seconds: dict[str, np.ndarray]
    build_seconds: np.ndarray
    spearman: dict[str, float]
    kendall: dict[str, float]
    n_used: dict[str, int]
    stored: dict[tuple[str, str], tuple[float, int]]

    def to_markdown(self) -> str:
        lines = [
            f"Zero-cost proxies vs cifar10-valid valid_acc@200 (seed mean): {len(self.indices)} archs, "
            f"batch {self.batch}, seed {self.seed}",
            "",
            "| proxy | Spearman | Kendall | archs | s / arch |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {p} | {self.spearman[p]:.3f} | {self.kendall[p]:.3f} | {self.n_used[p]} | "
            f"{float(np.mean(self.seconds[p])):.3f} |"
            for p in self.proxies
        ]
        if self.stored:
            lines += ["", "| live proxy | stored (cifar10) | Spearman | archs |", "|---|---|---|---|"]
            lines += [f"| {p} | {t} | {rho:.3f} | {n} |" for (p, t), (rho, n) in self.stored.items()]
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data; non-finite numbers (-inf and NaN scores, undefined correlations) are null."""
        return {
            "indices": [int(i) for i in self.indices],
            "proxies": list(self.proxies),
            "batch": self.batch,
            "seed": self.seed,
            "accuracy": _finite(self.accuracy),
            "scores": {p: _finite(v) for p, v in self.scores.items()},
            "seconds": {p: _finite(v) for p, v in self.seconds.items()},
            "build_seconds": _finite(self.build_seconds),
            "spearman": dict(zip(self.spearman, _finite(list(self.spearman.values())), strict=True)),
            "kendall": dict(zip(self.kendall, _finite(list(self.kendall.values())), strict=True)),
            "n_used": self.n_used,
            "stored": [
                {"proxy": p, "table": t, "spearman": _finite([rho])[0], "archs": n}
                for (p, t), (rho, n) in self.stored.items()
            ],
        }


def _score_arch(
    store: Store,
    index: int,
    proxies: Sequence[str],
    x: torch.Tensor,
    y: torch.Tensor,
    seed: int,
    device: torch.device,
    before: ArchScores | None,
) -> ArchScores:
    """`proxies` of arch `index` (network init keyed by (seed, index), zen's draws by (seed, index, proxy)),
    added to what `before` holds."""
    start = time.perf_counter()
    init = torch.Generator().manual_seed(_torch_seed(seed, 1, index))
    model = build_network(store.space, store.arch(index), num_classes=10, generator=init)
    build = time.perf_counter() - start
    scores, seconds = dict(before.scores) if before else {}, dict(before.seconds) if before else {}
    for p in proxies:
        generator = torch.Generator(device).manual_seed(_torch_seed(seed, 2, index, PROXIES.index(p)))
        start = time.perf_counter()
        scores[p] = score(p, model, x, y, generator=generator)
        seconds[p] = time.perf_counter() - start
    return ArchScores(index, scores, seconds, build)


def _finite(values: Sequence[float] | np.ndarray) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in values]


def _rank_correlations(x: np.ndarray, y: np.ndarray) -> tuple[float, float, int]:
    """Spearman, Kendall and the count over pairs where neither is NaN (-inf ranks lowest)."""
    keep = ~(np.isnan(x) | np.isnan(y))
    n = int(keep.sum())
    if n < 3 or len(np.unique(x[keep])) < 2 or len(np.unique(y[keep])) < 2:
        return math.nan, math.nan, n
    r = rank_correlation(x, y, keep_infinite=True)
    return r.spearman, r.kendall, r.n


def _torch_seed(seed: int, *key: int) -> int:
    return int(np.random.SeedSequence(seed, spawn_key=key).generate_state(1, np.uint64)[0])


def sample_indices(store: Store, k: int, rng: SeedLike) -> np.ndarray:
    """k distinct archs drawn uniformly among those of the table that are not flagged
    `params_counts_mismatch` and have a cifar10-valid valid_acc@200 mean; sorted."""
    flagged = np.asarray(store.table(None, "params_counts_mismatch").column("mean")) == 1
    accuracy = np.asarray(store.table("cifar10-valid", "valid_acc", 200).column("mean"))
    usable = np.flatnonzero(~flagged & ~np.isnan(accuracy))
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(usable):
        raise ConfigError(
            f"The 'k' parameter of sample_indices must be an int in 1..{len(usable)}. Got {k!r}."
        )
    return np.sort(as_generator(rng).choice(usable, size=k, replace=False)).astype(np.int64)


def validate_proxies(
    store: Store,
    images: ImageData,
    indices: Sequence[int] | np.ndarray,
    *,
    proxies: Sequence[str] = PROXIES,
    batch: int = 64,
    seed: int = 0,
    on_arch: Callable[[int], None] | None = None,
    known: Mapping[int, ArchScores] | None = None,
    on_scored: Callable[[ArchScores], None] | None = None,
) -> ProxyValidation:
    """Score `proxies` on the full-size CIFAR-10 network (C = 16, 5 cells per stage, 10 classes) of each
    arch in `indices`, all on one minibatch of `batch` CIFAR-10 training images (`images`, e.g. from
    `load_cifar10_jpeg_tar`) drawn with `seed`, and correlate them with the table.

    Each network's init is drawn from a torch.Generator keyed by (seed, arch index), zen's draws from one
    keyed by (seed, arch index, proxy), so an arch scores the same in any list. The minibatch comes from
    all 50k training images (half of them are cifar10-valid's validation split: no proxy trains on it). Seconds are wall-clock
    (time.perf_counter) per `score` call, on the current default device and thread count. `on_arch(i)` is
    called after arch i is scored. `known` holds archs scored before with this seed, batch and images
    (e.g. by an interrupted run): their scores and seconds are reused and only their missing proxies
    computed; `on_scored` receives every arch for which something was computed."""
    for p in proxies:
        if p not in PROXIES:
            raise unknown("zero-cost proxy", p, PROXIES)
    if len(images.classes) != 10 or images.image_shape != (32, 32, 3):
        raise ConfigError(
            f"validate_proxies needs CIFAR-10 images (10 classes, 32x32x3). Got {len(images.classes)} classes, {images.image_shape}."
        )
    idx = np.array([store.index(int(i)) for i in indices], dtype=np.int64)
    if len(idx) == 0:
        raise ConfigError(
            "The 'indices' parameter of validate_proxies must name at least one arch. Got none."
        )
    proxies = tuple(proxies)
    mean, std = NORMALIZATION["cifar10"]
    x, y = proxy_batch(
        images.train_x, images.train_y, n=batch, mean=mean, std=std, rng=np.random.default_rng([seed, 0])
    )
    device = torch.get_default_device()
    x, y = x.to(device), y.to(device)

    scores = {p: np.full(len(idx), np.nan) for p in proxies}
    seconds = {p: np.full(len(idx), np.nan) for p in proxies}
    build_seconds = np.full(len(idx), np.nan)
    known = known or {}
    for k, index in enumerate(idx.tolist()):
        arch = known.get(index)
        missing = [p for p in proxies if arch is None or p not in arch.scores]
        if missing:
            arch = _score_arch(store, index, missing, x, y, seed, device, before=arch)
            if on_scored is not None:
                on_scored(arch)
        assert arch is not None
        build_seconds[k] = arch.build_seconds
        for p in proxies:
            scores[p][k], seconds[p][k] = arch.scores[p], arch.seconds[p]
        if on_arch is not None:
            on_arch(index)

    accuracy = np.asarray(store.table("cifar10-valid", "valid_acc", 200).column("mean"))[idx].astype(float)
    spearman, kendall, n_used = {}, {}, {}
    for p in proxies:
        spearman[p], kendall[p], n_used[p] = _rank_correlations(scores[p], accuracy)
    stored = {}
    for p, table in STORED_PAIRS:
        if p in proxies and store.has("cifar10", table):
            values = np.asarray(store.table("cifar10", table).column("mean"))[idx].astype(float)
            rho, _, n = _rank_correlations(scores[p], values)
            stored[(p, table)] = (rho, n)
    return ProxyValidation(
        indices=idx,
        proxies=proxies,
        batch=batch,
        seed=seed,
        accuracy=accuracy,
        scores=scores,
        seconds=seconds,
        build_seconds=build_seconds,
        spearman=spearman,
        kendall=kendall,
        n_used=n_used,
        stored=stored,
    )
