"""Tests for random networks and their confusion: operator norms, a closed form for deep linear
networks with orthogonal weights, the order of the random draws, and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import data, losses
from helpers.gradient_confusion import init_confusion, pairwise_summary, random_mlp
from helpers.gradients import cosine_matrix, gradient_gram
from helpers.rng import make_generator


def test_random_mlp_rescales_every_operator_norm(gen):
    net = random_mlp(6, 10, 3, generator=gen, init="lecun", norm=0.7)
    norms = [float(torch.linalg.matrix_norm(lin.weight.detach(), ord=2)) for lin in net.linears]
    assert norms == pytest.approx([0.7] * 4, rel=1e-12)
    plain = random_mlp(6, 10, 3, generator=make_generator(3))
    again = random_mlp(6, 10, 3, generator=make_generator(3), norm=None)
    assert all(torch.equal(a.weight, b.weight) for a, b in zip(plain.linears, again.linears))


def test_deep_linear_orthogonal_cosines_are_those_of_the_data():
    """sigma = identity, orthogonal square layers and a unit output row: h_ij = (L+1) r_i r_j
    <x_i, x_j>, so cos_ij = sgn(r_i r_j) cos(x_i, x_j) at every depth."""
    for depth in (1, 4):
        out = init_confusion(depth, 8, d_in=8, n=6, draws=1, generator=make_generator(5),
                             init="orthogonal", activation="linear")
        g = make_generator(5)                    # replay the draws: network, data, labels
        net = random_mlp(8, 8, depth, generator=g, init="orthogonal", activation="linear")
        X = data.sphere(6, 8, generator=g)
        a = data.sphere(1, 8, generator=g)[0]
        with torch.no_grad():
            r = net(X).squeeze(1) - X @ a
        expected = torch.sign(r[:, None] * r[None, :]) * (X @ X.T)
        expected.fill_diagonal_(1.0)
        np.testing.assert_allclose(out.example, expected.numpy(), atol=1e-12)
        G = gradient_gram(net, losses.squared_loss, X, X @ a)
        assert torch.allclose(G, (depth + 1) * r[:, None] * r[None, :] * (X @ X.T),
                              rtol=1e-10, atol=1e-14)
        s = pairwise_summary(G)
        assert out.table["min cosine"][0] == pytest.approx(s.min_cosine, abs=1e-12)


def test_table_matches_the_summaries_and_a_fixed_label_direction(gen):
    a = data.sphere(1, 5, generator=gen)[0]
    out = init_confusion(2, 7, d_in=5, n=4, draws=2, generator=make_generator(9),
                         label_direction=a)
    g = make_generator(9)
    for k in range(2):
        net = random_mlp(5, 7, 2, generator=g)
        X = data.sphere(4, 5, generator=g)
        G = gradient_gram(net, losses.squared_loss, X, X @ a)
        s = pairwise_summary(G)
        cos = cosine_matrix(G)[~torch.eye(4, dtype=torch.bool)]
        row = out.table.iloc[k]
        assert row["min inner"] == pytest.approx(s.min_inner, rel=1e-12)
        assert row["confusion"] == pytest.approx(max(0.0, -s.min_inner), rel=1e-12)
        assert row["mean sq norm"] == pytest.approx(s.mean_sq_norm, rel=1e-12)
        assert row["cosine std"] == pytest.approx(float(cos.std()), rel=1e-10)


def test_bad_inputs(gen):
    with pytest.raises(ValueError, match="norm"):
        random_mlp(3, 4, 1, generator=gen, norm=-1.0)
    with pytest.raises(ValueError, match="n must"):
        init_confusion(1, 4, d_in=3, n=1, draws=1, generator=gen)
    with pytest.raises(ValueError, match="label_direction"):
        init_confusion(1, 4, d_in=3, n=3, draws=1, generator=gen,
                       label_direction=torch.ones(4, dtype=torch.float64))
    with pytest.raises(TypeError, match="generator"):
        init_confusion(1, 4, d_in=3, n=3, draws=1, generator=None)
