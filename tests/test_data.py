"""Tests for helpers.data: distributional checks, exact geometry, determinism and bad inputs."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from helpers.data import (
    delta_separated,
    gaussian,
    one_hot,
    random_labels,
    random_signs,
    separation,
    sphere,
)
from helpers.rng import make_generator


def _brute_separation(X: torch.Tensor, symmetric: bool) -> float:
    best = math.inf
    for i, j in itertools.combinations(range(X.shape[0]), 2):
        dist = float((X[i] - X[j]).norm())
        if symmetric:
            dist = min(dist, float((X[i] + X[j]).norm()))
        best = min(best, dist)
    return best


# ----------------------------------------------------------------------------- sphere, gaussian

def test_sphere_unit_norm_and_device(gen):
    X = sphere(50, 7, generator=gen)
    assert X.shape == (50, 7) and X.dtype == torch.float64 and X.device == gen.device
    assert torch.allclose(X.norm(dim=1), torch.ones(50, dtype=torch.float64), atol=1e-14)
    assert sphere(3, 2, generator=gen, dtype=torch.float32).dtype == torch.float32


def test_sphere_second_moments(gen):
    # E[x x^T] = I/d. For x uniform on S^{d-1}: Var(x_a x_b) = 1/(d(d+2)) (a != b) and
    # Var(x_a^2) = 3/(d(d+2)) - 1/d^2, so the sample mean over n points has these / n; we allow
    # 6 standard deviations per entry (25 entries, so a false alarm has probability < 1e-7).
    n, d = 20_000, 5
    X = sphere(n, d, generator=gen)
    second = X.T @ X / n
    sd_off = math.sqrt(1 / (d * (d + 2)) / n)
    sd_diag = math.sqrt((3 / (d * (d + 2)) - 1 / d**2) / n)
    err = second - torch.eye(d, dtype=torch.float64) / d
    assert err.diagonal().abs().max() < 6 * sd_diag
    off = err - torch.diag(err.diagonal())
    assert off.abs().max() < 6 * sd_off
    # <x_i, x_j> for independent pairs: mean 0, variance 1/d; E<x,x'>^4 = 3/(d(d+2)).
    z = (X[: n // 2] * X[n // 2:]).sum(dim=1)
    m = n // 2
    assert abs(float(z.mean())) < 6 * math.sqrt(1 / d / m)
    sd_var = math.sqrt((3 / (d * (d + 2)) - 1 / d**2) / m)
    assert abs(float((z**2).mean()) - 1 / d) < 6 * sd_var


def test_gaussian_moments_and_determinism():
    X = gaussian(10_000, 4, generator=make_generator(1), std=2.0)
    # sample variance of N(0, 4): sd of the mean of squares is 4 sqrt(2/N) per column
    var = (X**2).mean(dim=0)
    assert (var - 4.0).abs().max() < 6 * 4.0 * math.sqrt(2 / 10_000)
    assert torch.equal(X, gaussian(10_000, 4, generator=make_generator(1), std=2.0))


def test_sphere_same_seed_same_data():
    assert torch.equal(sphere(5, 3, generator=make_generator(3)),
                       sphere(5, 3, generator=make_generator(3)))
    assert not torch.equal(sphere(5, 3, generator=make_generator(3)),
                           sphere(5, 3, generator=make_generator(4)))


def test_sphere_gaussian_bad_inputs(gen):
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        sphere(0, 3, generator=gen)
    with pytest.raises(TypeError, match="d must be an integer"):
        sphere(3, 2.5, generator=gen)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        sphere(3, 2, generator=0)
    with pytest.raises(TypeError, match="dtype must be a floating"):
        sphere(3, 2, generator=gen, dtype=torch.int64)
    with pytest.raises(ValueError, match="std must be > 0"):
        gaussian(3, 2, generator=gen, std=0.0)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        gaussian(3, 2, generator=None)


# ----------------------------------------------------------------------------- separation

@pytest.mark.parametrize("symmetric", [False, True])
def test_separation_matches_brute_force(gen, symmetric):
    X = gaussian(15, 4, generator=gen)
    assert separation(X, symmetric=symmetric) == pytest.approx(
        _brute_separation(X, symmetric), rel=1e-12)


def test_separation_closed_forms():
    e = torch.eye(3, dtype=torch.float64)
    assert separation(e) == pytest.approx(math.sqrt(2))
    # antipodal points: far apart, but symmetric separation 0
    X = torch.stack([e[0], -e[0], e[1]])
    assert separation(X) == pytest.approx(math.sqrt(2))
    assert separation(X, symmetric=True) == 0.0
    # duplicated point: rounding must not produce NaN
    Y = torch.tensor([[0.1, 0.7], [0.1, 0.7], [1.0, 0.0]], dtype=torch.float64)
    assert separation(Y) == 0.0


def test_separation_bad_inputs():
    with pytest.raises(ValueError, match="at least 2 rows"):
        separation(torch.ones(1, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="X must have 2 dimensions"):
        separation(torch.ones(3, dtype=torch.float64))
    with pytest.raises(TypeError, match="X must have a floating dtype"):
        separation(torch.ones(3, 2, dtype=torch.int64))
    with pytest.raises(TypeError, match="symmetric must be a bool"):
        separation(torch.eye(2, dtype=torch.float64), symmetric="yes")


# ----------------------------------------------------------------------------- delta_separated

@pytest.mark.parametrize("symmetric,delta", [(False, 0.8), (True, 0.7)])
def test_delta_separated_meets_delta(gen, symmetric, delta):
    X = delta_separated(30, 5, delta, generator=gen, symmetric=symmetric)
    assert X.shape == (30, 5)
    assert torch.allclose(X.norm(dim=1), torch.ones(30, dtype=torch.float64))
    assert separation(X, symmetric=symmetric) >= delta
    assert _brute_separation(X, symmetric) >= delta - 1e-12


def test_delta_separated_deterministic():
    a = delta_separated(20, 4, 0.8, generator=make_generator(5))
    b = delta_separated(20, 4, 0.8, generator=make_generator(5))
    assert torch.equal(a, b)


def test_delta_separated_bad_inputs(gen):
    with pytest.raises(ValueError, match="delta must be <= 2"):
        delta_separated(3, 3, 2.1, generator=gen)
    with pytest.raises(ValueError, match="delta must be <= 1.4142"):
        delta_separated(3, 3, 1.5, generator=gen, symmetric=True)
    with pytest.raises(ValueError, match="delta must be > 0"):
        delta_separated(3, 3, 0.0, generator=gen)
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        delta_separated(1, 3, 0.1, generator=gen)
    with pytest.raises(ValueError, match="d=1"):
        delta_separated(3, 1, 0.1, generator=gen)
    # 10 points on the circle cannot be 1.9 apart: the loop gives up with a clear message
    with pytest.raises(ValueError, match="could not draw n=10 .*max_rounds=5"):
        delta_separated(10, 2, 1.9, generator=gen, max_rounds=5)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        delta_separated(3, 3, 0.1, generator="seed")


# ----------------------------------------------------------------------------- labels

def test_random_labels_uniform(gen):
    y = random_labels(5000, 4, generator=gen)
    assert y.dtype == torch.int64 and int(y.min()) >= 0 and int(y.max()) <= 3
    # binomial(5000, 1/4): sd = sqrt(5000 * 3/16) = 30.6
    assert (y.bincount(minlength=4).double() - 1250).abs().max() < 6 * 30.6
    assert torch.equal(y, random_labels(5000, 4, generator=make_generator(20261123)))


def test_random_signs(gen):
    s = random_signs(4000, generator=gen)
    assert s.dtype == torch.float64 and bool((s.abs() == 1).all())
    assert abs(float(s.mean())) < 6 / math.sqrt(4000)
    assert torch.equal(s, random_signs(4000, generator=make_generator(20261123)))


def test_one_hot_roundtrip(gen):
    y = random_labels(30, 5, generator=gen)
    Y = one_hot(y, 5)
    assert Y.shape == (30, 5) and Y.dtype == torch.float64
    assert torch.equal(Y.argmax(dim=1), y) and torch.equal(Y.sum(dim=1), torch.ones(30).double())


def test_label_bad_inputs(gen):
    with pytest.raises(ValueError, match="num_classes must be an integer >= 1"):
        random_labels(5, 0, generator=gen)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        random_labels(5, 2, generator=1)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        random_signs(0, generator=gen)
    with pytest.raises(TypeError, match="dtype must be a floating"):
        random_signs(3, generator=gen, dtype=torch.int32)
    with pytest.raises(ValueError, match=r"y must have values in \[0, 3\)"):
        one_hot(torch.tensor([0, 3]), 3)
    with pytest.raises(TypeError, match="y must have an integer dtype"):
        one_hot(torch.tensor([0.0, 1.0]), 3)
    with pytest.raises(ValueError, match="y must have 1 dimensions"):
        one_hot(torch.tensor([[0, 1]]), 3)
