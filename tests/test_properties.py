"""Property-based tests (hypothesis) for the mathematical helpers.

Gram matrices are built as G = g g^T from random per-example gradient matrices g, including
zero rows (examples whose gradient vanishes), so every property is checked on valid inputs of
many shapes and scales.
"""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.gradient_confusion import confusion_bound, normalized_confusion_bound, pairwise_summary
from helpers.gradients import cosine_matrix
from helpers.rng import make_generator

SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def gradient_matrices(draw):
    """A (n, p) float64 matrix of per-example gradients, possibly with zero rows."""
    n = draw(st.integers(2, 8))
    p = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**31 - 1))
    scale = draw(st.floats(1e-3, 1e3))
    g = scale * torch.randn(n, p, generator=make_generator(seed), dtype=torch.float64)
    zero_rows = draw(st.lists(st.integers(0, n - 1), max_size=n // 2, unique=True))
    if zero_rows:
        g[zero_rows] = 0.0
    return g


@SETTINGS
@given(g=gradient_matrices())
def test_cosines_bounded_symmetric_and_finite(g):
    C = cosine_matrix(g @ g.T)
    assert torch.isfinite(C).all()
    assert float(C.abs().max()) <= 1.0
    torch.testing.assert_close(C, C.T, rtol=0, atol=0)
    assert torch.all(torch.diagonal(C) == 1.0)


@SETTINGS
@given(g=gradient_matrices(), seed=st.integers(0, 2**31 - 1))
def test_cosines_invariant_to_rescaling_examples(g, seed):
    scales = torch.rand(g.shape[0], generator=make_generator(seed), dtype=torch.float64) + 0.1
    G = g @ g.T
    D = torch.diag(scales)
    torch.testing.assert_close(cosine_matrix(D @ G @ D), cosine_matrix(G), rtol=1e-9,
                               atol=1e-12)


@SETTINGS
@given(g=gradient_matrices(), seed=st.integers(0, 2**31 - 1))
def test_confusion_permutation_invariant_and_nonnegative(g, seed):
    G = g @ g.T
    perm = torch.randperm(g.shape[0], generator=make_generator(seed))
    Gp = G[perm][:, perm]
    assert confusion_bound(G) >= 0.0
    assert confusion_bound(Gp) == confusion_bound(G)
    assert normalized_confusion_bound(Gp) == normalized_confusion_bound(G)
    assert 0.0 <= normalized_confusion_bound(G) <= 1.0


@SETTINGS
@given(g=gradient_matrices())
def test_confusion_bound_is_scale_covariant(g):
    G = g @ g.T
    assert abs(confusion_bound(4.0 * G) - 4.0 * confusion_bound(G)) <= 1e-9 * (
        1.0 + 4.0 * confusion_bound(G))


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
