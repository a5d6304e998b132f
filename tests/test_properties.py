"""Property-based tests (hypothesis) for the mathematical helpers.

Gram matrices are built as G = g g^T from random per-example gradient matrices g, including
zero rows (examples whose gradient vanishes) and parallel rows (cosine exactly +-1, where a
clamp would be active), so every property is checked on valid inputs of many shapes and scales.

The helpers clamp cosines to [-1, 1], set the diagonal to 1, symmetrise, and take max(0, .) of
confusions: properties such as "cosines lie in [-1, 1]" hold by construction and prove nothing.
So the values are compared with an independent oracle instead: float64 NumPy formulas (with
``math.fsum``) applied to the explicit gradient vectors g, from the definitions; the cosines
are also checked *before* the clamp (``helpers.gradients._raw_cosines``), which must stay
within the documented tolerance of [-1, 1]. Matrices that are not Gram matrices must be refused.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from helpers.gradient_confusion import (
    average_confusion_bound,
    confusion_bound,
    gradient_variance,
    minibatch_gradient_variance,
    minibatch_gram,
    minibatch_inner_product_variance,
    normalized_confusion_bound,
    pairwise_summary,
)
from helpers.gradients import _gram_tolerance, _raw_cosines, cosine_matrix
from helpers.rng import make_generator

SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def gradient_matrices(draw):
    """A (n, p) float64 matrix of per-example gradients, possibly with zero and parallel rows."""
    n = draw(st.integers(2, 8))
    p = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**31 - 1))
    scale = draw(st.floats(1e-3, 1e3))
    g = scale * torch.randn(n, p, generator=make_generator(seed), dtype=torch.float64)
    zero_rows = draw(st.lists(st.integers(0, n - 1), max_size=n // 2, unique=True))
    if draw(st.booleans()):              # a row parallel (or anti-parallel) to another one
        i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        g[i] = draw(st.sampled_from([-3.0, -1.0, 0.5, 7.0])) * g[j]
    if zero_rows:
        g[zero_rows] = 0.0
    return g


# --------------------------------------------------------------------------- oracle (NumPy)


def _rows(g: torch.Tensor) -> list[np.ndarray]:
    return [row for row in g.numpy().astype(np.float64)]


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    return math.fsum(a * b)


def oracle_cosines(g: torch.Tensor) -> np.ndarray:
    """cos(g_i, g_j) from the vectors; 0 with a zero vector, 1 on the diagonal."""
    rows = _rows(g)
    norms = [math.sqrt(_dot(r, r)) for r in rows]
    n = len(rows)
    C = np.eye(n)
    for i, j in itertools.permutations(range(n), 2):
        if norms[i] > 0 and norms[j] > 0:
            C[i, j] = _dot(rows[i], rows[j]) / (norms[i] * norms[j])
    return C


def oracle_inner(g: torch.Tensor) -> list[float]:
    """<g_i, g_j> for every ordered pair i != j."""
    rows = _rows(g)
    return [_dot(rows[i], rows[j]) for i, j in itertools.permutations(range(len(rows)), 2)]


def oracle_mean(g: torch.Tensor) -> np.ndarray:
    rows = _rows(g)
    return np.array([math.fsum(col) / len(rows) for col in zip(*rows)])


def oracle_variance(g: torch.Tensor) -> float:
    """(1/n) sum_i ||g_i - mean||^2."""
    mean = oracle_mean(g)
    rows = _rows(g)
    return math.fsum(_dot(r - mean, r - mean) for r in rows) / len(rows)


def _scale(g: torch.Tensor) -> float:
    return 1.0 + max(_dot(r, r) for r in _rows(g))


# --------------------------------------------------------------------------- cosines


@SETTINGS
@given(g=gradient_matrices())
def test_cosines_match_oracle(g):
    C = cosine_matrix(g @ g.T)
    np.testing.assert_allclose(C.numpy(), oracle_cosines(g), rtol=0, atol=1e-12)
    torch.testing.assert_close(C, C.T, rtol=0, atol=0)


@SETTINGS
@given(g=gradient_matrices())
def test_cosines_before_the_clamp_match_oracle_within_tolerance(g):
    """The quantities computed before any clamp: equal to the oracle, and outside [-1, 1] by
    no more than the documented tolerance (so the clamp only removes round-off)."""
    raw, zero = _raw_cosines(g @ g.T, 0.0)
    oracle = oracle_cosines(g)
    off = ~np.eye(g.shape[0], dtype=bool)
    np.testing.assert_allclose(raw.numpy()[off], oracle[off], rtol=0, atol=1e-12)
    assert float(raw.abs().max()) <= 1.0 + _gram_tolerance(torch.float64)
    norms = np.sqrt([_dot(r, r) for r in _rows(g)])
    assert zero.tolist() == (norms == 0).tolist()


@SETTINGS
@given(g=gradient_matrices(), seed=st.integers(0, 2**31 - 1))
def test_cosines_invariant_to_rescaling_examples(g, seed):
    scales = torch.rand(g.shape[0], generator=make_generator(seed), dtype=torch.float64) + 0.1
    G = g @ g.T
    D = torch.diag(scales)
    torch.testing.assert_close(cosine_matrix(D @ G @ D), cosine_matrix(G), rtol=1e-9,
                               atol=1e-12)


# --------------------------------------------------------------------------- confusion


@SETTINGS
@given(g=gradient_matrices())
def test_confusion_matches_definitions(g):
    """Definition 2.1, the normalised and average variants, and the variance, from the vectors."""
    G = g @ g.T
    n = g.shape[0]
    inner = oracle_inner(g)
    cos = oracle_cosines(g)[~np.eye(n, dtype=bool)]
    tol = 1e-12 * _scale(g)
    assert confusion_bound(G) == pytest.approx(max(0.0, -min(inner)), abs=tol)
    assert normalized_confusion_bound(G) == pytest.approx(max(0.0, -cos.min()), abs=1e-12)
    assert average_confusion_bound(G) == pytest.approx(
        max(0.0, -math.fsum(inner) / (n * (n - 1))), abs=tol)
    full = oracle_mean(g)
    assert average_confusion_bound(G, include_diagonal=True) == pytest.approx(
        max(0.0, -_dot(full, full)), abs=tol)
    assert gradient_variance(G) == pytest.approx(oracle_variance(g), abs=tol)
    s = pairwise_summary(G)
    assert s.n == n
    assert s.min_inner == pytest.approx(min(inner), abs=tol)
    assert s.mean_inner == pytest.approx(math.fsum(inner) / (n * (n - 1)), abs=tol)
    assert s.min_cosine == pytest.approx(cos.min(), abs=1e-12)
    assert s.mean_cosine == pytest.approx(math.fsum(cos) / cos.size, abs=1e-12)
    assert s.mean_sq_norm == pytest.approx(math.fsum(_dot(r, r) for r in _rows(g)) / n,
                                           abs=tol)
    assert s.full_grad_sq_norm == pytest.approx(_dot(full, full), abs=tol)
    assert s.gradient_variance == pytest.approx(oracle_variance(g), abs=tol)
    assert s.confusion == pytest.approx(max(0.0, -min(inner)), abs=tol)
    assert s.normalized_confusion == pytest.approx(max(0.0, -cos.min()), abs=1e-12)


@SETTINGS
@given(g=gradient_matrices(), b=st.integers(1, 3), replace=st.booleans())
def test_minibatch_variances_match_enumeration(g, b, replace):
    """E||mean of B gradients - grad F||^2 and Var<g_B, g'_B> over EVERY minibatch (uniform,
    with or without replacement; two independent minibatches for the inner product)."""
    n = g.shape[0]
    assume(replace or b <= n)
    rows = np.stack(_rows(g))
    subsets = (itertools.product(range(n), repeat=b) if replace
               else itertools.combinations(range(n), b))
    means = np.stack([rows[list(S)].mean(0) for S in subsets])
    full = oracle_mean(g)
    expected = math.fsum(_dot(m - full, m - full) for m in means) / len(means)
    G = g @ g.T
    tol = 1e-11 * _scale(g)
    assert minibatch_gradient_variance(G, b, replace=replace) == pytest.approx(expected, abs=tol)
    products = means @ means.T                    # every pair (S, S') of minibatches
    expected = float(np.mean(products**2) - np.mean(products) ** 2)
    assert minibatch_inner_product_variance(G, b, replace=replace) == pytest.approx(
        expected, abs=1e-10 * _scale(g) ** 2)


@SETTINGS
@given(g=gradient_matrices(), seed=st.integers(0, 2**31 - 1), k=st.integers(1, 4),
       b=st.integers(1, 3))
def test_minibatch_gram_matches_minibatch_gradients(g, seed, k, b):
    n = g.shape[0]
    batches = torch.randint(n, (k, b), generator=make_generator(seed))
    rows = np.stack(_rows(g))
    means = [rows[idx.tolist()].mean(0) for idx in batches]
    expected = np.array([[_dot(u, v) for v in means] for u in means])
    np.testing.assert_allclose(minibatch_gram(g @ g.T, batches).numpy(), expected, rtol=0,
                               atol=1e-12 * _scale(g))


@SETTINGS
@given(g=gradient_matrices(), seed=st.integers(0, 2**31 - 1))
def test_confusion_permutation_invariant(g, seed):
    G = g @ g.T
    perm = torch.randperm(g.shape[0], generator=make_generator(seed))
    Gp = G[perm][:, perm]
    assert confusion_bound(Gp) == confusion_bound(G)
    assert normalized_confusion_bound(Gp) == normalized_confusion_bound(G)


@SETTINGS
@given(g=gradient_matrices())
def test_pairwise_identity_holds(g):
    """mean_{i != j} <g_i, g_j> = ||grad F||^2 - sigma^2 / (n - 1) (Sankararaman et al.)."""
    summary = pairwise_summary(g @ g.T)
    n = g.shape[0]
    full = g.mean(dim=0)
    variance = float(((g - full) ** 2).sum(dim=1).mean())
    expected = float(full @ full) - variance / (n - 1)
    tol = 1e-9 * (1.0 + float((g * g).sum(dim=1).max()))
    assert abs(summary.mean_inner - expected) <= tol
    assert abs(summary.mean_inner_identity - expected) <= tol


# --------------------------------------------------------------------------- non-Gram inputs

GRAM_FUNCTIONS = [
    cosine_matrix, confusion_bound, normalized_confusion_bound, average_confusion_bound,
    gradient_variance, pairwise_summary,
    lambda G: minibatch_gradient_variance(G, 1), lambda G: minibatch_inner_product_variance(G, 1),
    lambda G: minibatch_gram(G, torch.tensor([[0], [1]])),
]


@st.composite
def indefinite_matrices(draw):
    """D C D with C = (1 - rho) I + rho 11^T, rho in (-1, -1/(n-1)): symmetric, |C_ij| < 1
    (every pair passes Cauchy-Schwarz), but the smallest eigenvalue 1 + (n - 1) rho < 0."""
    n = draw(st.integers(3, 8))
    rho = draw(st.floats(-0.99, -1.0 / (n - 1) - 0.05))
    seed = draw(st.integers(0, 2**31 - 1))
    d = 0.5 + torch.rand(n, generator=make_generator(seed), dtype=torch.float64)
    C = (1 - rho) * torch.eye(n, dtype=torch.float64) + rho * torch.ones(n, n,
                                                                         dtype=torch.float64)
    G = d[:, None] * C * d[None, :]
    lam = float(np.linalg.eigvalsh(G.numpy())[0])
    assume(lam < -1e-3 * float(G.trace()))          # clearly beyond round-off
    return G, lam


@SETTINGS
@given(case=indefinite_matrices(), which=st.integers(0, len(GRAM_FUNCTIONS) - 1))
def test_indefinite_matrix_is_refused(case, which):
    """Before: cosines of such a matrix came out in [-1, 1] and looked fine."""
    G, lam = case
    with pytest.raises(ValueError, match="gram must be positive semidefinite") as err:
        GRAM_FUNCTIONS[which](G)
    assert f"{lam:.3g}" in str(err.value)


@pytest.mark.parametrize("fn", GRAM_FUNCTIONS)
def test_cauchy_schwarz_violation_is_refused(fn):
    """The reported case: a non-PSD 'Gram' whose cosine used to be clamped to 1.0."""
    G = torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=torch.float64)
    with pytest.raises(ValueError, match=r"Cauchy-Schwarz .* fails by a factor 2 "):
        fn(G)
