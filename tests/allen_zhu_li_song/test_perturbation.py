"""Perturbations of Section 8: radius, the greedy adversary, the exact worst case of Claim 8.3
(brute force as the oracle) and the bound of its proof."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from helpers.allen_zhu_li_song import (
    DeepReLUNet,
    flip_count_bound,
    forward,
    max_sign_flips,
    paper_inputs,
    random_perturbation,
    sign_flips,
    worst_case_perturbation,
)
from helpers.rng import make_generator

D = torch.float64


def test_random_perturbation_radius_and_determinism(setup):
    net, _, _ = setup
    P1 = random_perturbation(net, 0.3, generator=make_generator(1))
    P2 = random_perturbation(net, 0.3, generator=make_generator(1))
    assert all(torch.equal(a, b) for a, b in zip(P1, P2))
    norms = torch.stack([torch.linalg.matrix_norm(p, ord=2) for p in P1])
    assert torch.allclose(norms, torch.full((3,), 0.3, dtype=D))


def test_random_perturbation_bad(setup):
    net, _, _ = setup
    with pytest.raises(ValueError, match="omega must be"):
        random_perturbation(net, -1.0, generator=make_generator(0))
    with pytest.raises(TypeError, match="generator"):
        random_perturbation(net, 0.1, generator=None)


def test_worst_case_perturbation_radius_and_flip_law(gen):
    m = 2000
    net = DeepReLUNet(4, m, 1, 1, generator=gen)
    x = paper_inputs(2, 4, 0.2, generator=gen)[:1]
    omegas = [0.01, 0.08]
    flips = []
    for om in omegas:
        P = worst_case_perturbation(net, x, om)
        # rank one (every 2x2 minor vanishes on a sample), so spectral = Frobenius norm
        top = P[0][:40, :40]
        assert float((top[:, :1] * top[:1, :] - top * top[:1, :1]).abs().max()) < 1e-15
        assert abs(float(P[0].norm()) - om) < 1e-10
        f = sign_flips(forward(net, x), forward(net, x, perturbation=P))
        flips.append(int(f[0, 1]))
    # prediction (3/pi)^(1/3) m omega^(2/3) (scale-free: g and g' both scale with ||h_0||);
    # counts are ~50..200, Poisson-like fluctuations ~10%: allow 30%
    for om, f in zip(omegas, flips):
        pred = (3 / math.pi) ** (1 / 3) * m * om ** (2 / 3)
        assert 0.7 * pred < f < 1.3 * pred, (om, f, pred)
    slope = math.log(flips[1] / flips[0]) / math.log(omegas[1] / omegas[0])
    assert abs(slope - 2 / 3) < 0.12


def test_worst_case_attains_the_exact_maximum_at_the_first_layer(gen):
    # at the first trained layer g' = W'_1 h_0 ranges over the ball of radius omega ||h_0||, so
    # the greedy rank-one adversary realises max_sign_flips exactly (up to its overshoot margin)
    net = DeepReLUNet(4, 500, 2, 1, generator=gen)
    X = paper_inputs(3, 4, 0.2, generator=gen)
    s0 = forward(net, X)
    for i in range(3):
        for om in (0.003, 0.03, 0.3):
            P = worst_case_perturbation(net, X[i], om)
            greedy = int(sign_flips(forward(net, X[i:i + 1]),
                                    forward(net, X[i:i + 1], perturbation=P))[0, 1])
            exact = int(max_sign_flips(s0.g[1][i], om * float(s0.h[0][i].norm())))
            assert greedy == exact, (i, om, greedy, exact)


def test_worst_case_beats_random(gen):
    net = DeepReLUNet(4, 1000, 2, 1, generator=gen)
    x = paper_inputs(2, 4, 0.2, generator=gen)[:1]
    s0 = forward(net, x)
    worst = sign_flips(s0, forward(net, x, perturbation=worst_case_perturbation(net, x, 0.02)))
    rand = sign_flips(s0, forward(net, x, perturbation=random_perturbation(
        net, 0.02, generator=gen)))
    assert worst[0, 1] > 5 * max(1, int(rand[0, 1]))


def test_worst_case_zero_radius(setup):
    net, X, _ = setup
    P = worst_case_perturbation(net, X[0], 0.0)
    assert all(float(p.abs().max()) == 0.0 for p in P)


def test_worst_case_perturbation_bad(setup):
    net, X, _ = setup
    with pytest.raises(ValueError, match="single input"):
        worst_case_perturbation(net, X, 0.1)
    with pytest.raises(ValueError, match="margin must be"):
        worst_case_perturbation(net, X[0], 0.1, margin=0.0)


def test_random_flip_rate_first_layer(gen):
    # first trained layer: P(flip) = arctan(sigma'/sigma)/pi with sigma' = omega ||h|| / (2 sqrt m)
    m, n = 400, 30
    net = DeepReLUNet(4, m, 1, 1, generator=gen)
    X = paper_inputs(n, 4, 0.05, generator=gen)
    om = 0.4
    s0 = forward(net, X)
    rates = []
    for _ in range(5):
        P = random_perturbation(net, om, generator=gen)
        rates.append(sign_flips(s0, forward(net, X, perturbation=P))[:, 1].double() / m)
    rate = torch.stack(rates).mean()
    pred = math.atan(om / (2 * math.sqrt(2))) / math.pi      # ~0.045
    # 5 * 30 * 400 = 60000 Bernoulli draws (dependent within a net): allow 20 %
    assert abs(float(rate) - pred) < 0.2 * pred


def test_sign_flips_bad(setup):
    net, X, _ = setup
    s = forward(net, X)
    with pytest.raises(TypeError, match="ForwardState"):
        sign_flips(s, "x")
    with pytest.raises(ValueError, match="same inputs"):
        sign_flips(s, forward(net, X[:2]))


def _brute_force(g: torch.Tensor, d2: float, dinf: float) -> int:
    """Largest set S whose flips fit the budgets: sum_{j in S} (|g_j| - dinf)_+^2 <= d2^2."""
    cost = (g.abs() - dinf).clamp_min(0).pow(2).tolist()
    best = 0
    for k in range(len(cost) + 1):
        for S in itertools.combinations(range(len(cost)), k):
            if sum(cost[j] for j in S) <= d2**2:
                best = max(best, k)
    return best


def test_max_sign_flips_equals_brute_force(gen):
    for _ in range(20):
        g = torch.randn(7, generator=gen, dtype=D)
        for d2, dinf in ((0.0, 0.0), (0.3, 0.0), (1.0, 0.0), (0.5, 0.2), (0.0, 0.6)):
            assert int(max_sign_flips(g, d2, dinf)) == _brute_force(g, d2, dinf)


def test_max_sign_flips_is_attained_by_a_perturbation(gen):
    # the set it counts is flipped by g' = g1 + g2 with ||g1|| <= d2 (+ tiny), ||g2||_inf <= dinf
    g = torch.randn(50, generator=gen, dtype=D)
    d2, dinf = 0.7, 0.1
    k = int(max_sign_flips(g, d2, dinf))
    cost = (g.abs() - dinf).clamp_min(0)
    S = torch.argsort(cost)[:k]
    g2 = torch.zeros_like(g)
    g2[S] = -dinf * torch.sign(g[S])
    g1 = torch.zeros_like(g)
    g1[S] = -torch.sign(g[S]) * cost[S] * (1 + 1e-9)
    assert float(g1.norm()) <= d2 * (1 + 1e-8) and float(g2.abs().max()) <= dinf
    flipped = ((g + g1 + g2) >= 0) != (g >= 0)
    assert int(flipped.sum()) == k


def test_max_sign_flips_batched_and_law(gen):
    # g ~ N(0, 2/m I): the maximum is about (3/pi)^(1/3) m d2^(2/3) (200 draws of m = 2000)
    m, d2 = 2000, 0.05
    g = torch.randn(200, m, generator=gen, dtype=D) * math.sqrt(2 / m)
    k = max_sign_flips(g, d2).double()
    assert k.shape == (200,)
    assert abs(float(k.mean()) / ((3 / math.pi) ** (1 / 3) * m * d2 ** (2 / 3)) - 1) < 0.05


def test_max_sign_flips_bad():
    with pytest.raises(ValueError, match="delta_2 must be"):
        max_sign_flips(torch.zeros(3, dtype=D), -0.1)
    with pytest.raises(ValueError, match="delta_inf must be"):
        max_sign_flips(torch.zeros(3, dtype=D), 0.1, -1.0)
    with pytest.raises(TypeError, match="floating"):
        max_sign_flips(torch.zeros(3, dtype=torch.int64), 0.1)


def test_flip_count_bound_is_the_minimum_of_the_proof_and_dominates_the_maximum(gen):
    m = 1000
    xs = torch.logspace(-6, 0, 20001, dtype=D)
    for d2, dinf in ((0.01, 0.0), (0.1, 0.0), (0.01, 0.005), (0.0, 0.004)):
        grid = xs[xs >= 2 * dinf]
        brute = float((grid * m**1.5 / math.sqrt(math.pi) + 4 * d2**2 / grid**2).min())
        assert flip_count_bound(m, d2, dinf) == pytest.approx(brute, rel=1e-3)
    assert flip_count_bound(m, 0.01) == pytest.approx(3 * math.pi ** (-1 / 3) * m * 0.01 ** (2 / 3))
    g = torch.randn(100, m, generator=gen, dtype=D) * math.sqrt(2 / m)
    for d2, dinf in ((0.01, 0.0), (0.1, 0.0), (0.05, 0.002)):
        assert float(max_sign_flips(g, d2, dinf).max()) < flip_count_bound(m, d2, dinf)


def test_flip_count_bound_bad():
    with pytest.raises(ValueError, match="m must be"):
        flip_count_bound(0, 0.1)
    with pytest.raises(ValueError, match="delta_2 must be"):
        flip_count_bound(10, -0.1)
