"""helpers.allen_zhu_li_song: autograd as oracle, exact identities, scaling laws, bad inputs."""

from __future__ import annotations

import math

import pytest
import torch

from helpers.allen_zhu_li_song import DeepReLUNet
from helpers.allen_zhu_li_song import _deep_relu as dr
from helpers.data import separation
from helpers.gradients import ntk_gram
from helpers.rng import make_generator

D = torch.float64


@pytest.fixture
def setup(gen):
    net = DeepReLUNet(5, 24, 3, 2, generator=gen)
    X = dr.paper_inputs(4, 5, 0.3, generator=gen)
    Y = torch.randn(4, 2, generator=gen, dtype=D)
    return net, X, Y


def _autograd_grads(net, X, Y, pert=None):
    Ws = [(W.detach() + (0 if pert is None else P)).requires_grad_(True)
          for W, P in zip(net.Ws, pert or [0] * net.L)]
    h = torch.relu(X @ net.A.T)
    for W in Ws:
        h = torch.relu(h @ W.T)
    F = 0.5 * (h @ net.B.T - Y).pow(2).sum()
    return torch.autograd.grad(F, Ws), float(F.detach())


# ----------------------------------------------------------------------------- data / forward

def test_paper_inputs_normalised_and_separated(gen):
    X = dr.paper_inputs(10, 6, 0.4, generator=gen)
    assert torch.allclose(X.norm(dim=1), torch.ones(10, dtype=D))
    assert torch.allclose(X[:, -1], torch.full((10,), 2 ** -0.5, dtype=D))
    assert separation(X) >= 0.4 - 1e-12


def test_paper_inputs_deterministic():
    a = dr.paper_inputs(5, 4, 0.2, generator=make_generator(3))
    b = dr.paper_inputs(5, 4, 0.2, generator=make_generator(3))
    assert torch.equal(a, b)


def test_paper_inputs_bad():
    with pytest.raises(ValueError, match="d must be"):
        dr.paper_inputs(5, 2, 0.2, generator=make_generator(0))
    with pytest.raises(ValueError, match="delta must be"):
        dr.paper_inputs(5, 4, 1.5, generator=make_generator(0))
    with pytest.raises(TypeError, match="generator"):
        dr.paper_inputs(5, 4, 0.2, generator=0)


def test_forward_matches_model_and_signs(setup):
    net, X, _ = setup
    s = dr.forward(net, X)
    assert torch.allclose(s.output, net(X))
    for g, h, Dm in zip(s.g, s.h, s.D):
        assert torch.equal(h, Dm * g)
        assert set(Dm.unique().tolist()) <= {0.0, 1.0}
    states = net.hidden_states(X)
    assert all(torch.allclose(a, b) for a, b in zip(states, s.h))


def test_forward_with_perturbation_equals_shifted_net(setup, gen):
    net, X, _ = setup
    P = dr.random_perturbation(net, 0.2, generator=gen)
    s = dr.forward(net, X, perturbation=P)
    with torch.no_grad():
        for W, p in zip(net.Ws, P):
            W.add_(p)
    assert torch.allclose(s.output, net(X))


def test_forward_bad(setup):
    net, X, _ = setup
    with pytest.raises(TypeError, match="DeepReLUNet"):
        dr.forward(torch.nn.Linear(2, 2), X)
    with pytest.raises(ValueError, match="X must have shape"):
        dr.forward(net, X[:, :3])
    with pytest.raises(TypeError, match="dtype"):
        dr.forward(net, X.float())
    with pytest.raises(ValueError, match="L=3 matrices"):
        dr.forward(net, X, perturbation=[torch.zeros(24, 24, dtype=D)])
    with pytest.raises(ValueError, match=r"perturbation\[0\] must have shape"):
        dr.forward(net, X, perturbation=[torch.zeros(3, 3, dtype=D)] * 3)


# ----------------------------------------------------------------------------- perturbations

def test_random_perturbation_radius_and_determinism(setup):
    net, _, _ = setup
    P1 = dr.random_perturbation(net, 0.3, generator=make_generator(1))
    P2 = dr.random_perturbation(net, 0.3, generator=make_generator(1))
    assert all(torch.equal(a, b) for a, b in zip(P1, P2))
    norms = torch.stack([torch.linalg.matrix_norm(p, ord=2) for p in P1])
    assert torch.allclose(norms, torch.full((3,), 0.3, dtype=D))


def test_random_perturbation_bad(setup):
    net, _, _ = setup
    with pytest.raises(ValueError, match="omega must be"):
        dr.random_perturbation(net, -1.0, generator=make_generator(0))
    with pytest.raises(TypeError, match="generator"):
        dr.random_perturbation(net, 0.1, generator=None)


def test_worst_case_perturbation_radius_and_flip_law(gen):
    m = 2000
    net = DeepReLUNet(4, m, 1, 1, generator=gen)
    x = dr.paper_inputs(2, 4, 0.2, generator=gen)[:1]
    omegas = [0.01, 0.08]
    flips = []
    for om in omegas:
        P = dr.worst_case_perturbation(net, x, om)
        # rank one (every 2x2 minor vanishes on a sample), so spectral = Frobenius norm
        top = P[0][:40, :40]
        assert float((top[:, :1] * top[:1, :] - top * top[:1, :1]).abs().max()) < 1e-15
        assert abs(float(P[0].norm()) - om) < 1e-10
        f = dr.sign_flips(dr.forward(net, x), dr.forward(net, x, perturbation=P))
        flips.append(int(f[0, 1]))
    # prediction (3/pi)^(1/3) m omega^(2/3) for ||h_0|| = 1; counts are ~50..200, Poisson-like
    # fluctuations ~10%, and ||h_0|| deviates from 1 by ~sqrt(5/m): allow 30%
    for om, f in zip(omegas, flips):
        pred = (3 / math.pi) ** (1 / 3) * m * om ** (2 / 3) * float(x.norm()) ** (2 / 3)
        assert 0.7 * pred < f < 1.3 * pred, (om, f, pred)
    slope = math.log(flips[1] / flips[0]) / math.log(omegas[1] / omegas[0])
    assert abs(slope - 2 / 3) < 0.12


def test_worst_case_beats_random(gen):
    net = DeepReLUNet(4, 1000, 2, 1, generator=gen)
    x = dr.paper_inputs(2, 4, 0.2, generator=gen)[:1]
    s0 = dr.forward(net, x)
    worst = dr.sign_flips(s0, dr.forward(net, x, perturbation=dr.worst_case_perturbation(
        net, x, 0.02)))
    rand = dr.sign_flips(s0, dr.forward(net, x, perturbation=dr.random_perturbation(
        net, 0.02, generator=gen)))
    assert worst[0, 1] > 5 * max(1, int(rand[0, 1]))


def test_worst_case_zero_radius(setup):
    net, X, _ = setup
    P = dr.worst_case_perturbation(net, X[0], 0.0)
    assert all(float(p.abs().max()) == 0.0 for p in P)


def test_worst_case_perturbation_bad(setup):
    net, X, _ = setup
    with pytest.raises(ValueError, match="single input"):
        dr.worst_case_perturbation(net, X, 0.1)
    with pytest.raises(ValueError, match="margin must be"):
        dr.worst_case_perturbation(net, X[0], 0.1, margin=0.0)


def test_random_flip_rate_first_layer(gen):
    # first trained layer: P(flip) = arctan(sigma'/sigma)/pi with sigma' = omega ||h|| / (2 sqrt m)
    m, n = 400, 30
    net = DeepReLUNet(4, m, 1, 1, generator=gen)
    X = dr.paper_inputs(n, 4, 0.05, generator=gen)
    om = 0.4
    s0 = dr.forward(net, X)
    rates = []
    for _ in range(5):
        P = dr.random_perturbation(net, om, generator=gen)
        rates.append(dr.sign_flips(s0, dr.forward(net, X, perturbation=P))[:, 1].double() / m)
    rate = torch.stack(rates).mean()
    pred = math.atan(om / (2 * math.sqrt(2))) / math.pi      # ~0.045
    # 5 * 30 * 400 = 60000 Bernoulli draws (dependent within a net): allow 20 %
    assert abs(float(rate) - pred) < 0.2 * pred


def test_sign_flips_bad(setup):
    net, X, _ = setup
    s = dr.forward(net, X)
    with pytest.raises(TypeError, match="ForwardState"):
        dr.sign_flips(s, "x")
    with pytest.raises(ValueError, match="same inputs"):
        dr.sign_flips(s, dr.forward(net, X[:2]))


# ----------------------------------------------------------------------------- products

def test_layer_product_and_backward_matrix(setup):
    net, X, _ = setup
    s = dr.forward(net, X)
    P = dr.layer_product(s, 1, 3)
    assert torch.allclose(torch.einsum("nij,nj->ni", P, s.h[0]), s.g[3])
    P11 = dr.layer_product(s, 2, 2)
    assert torch.allclose(P11, net.Ws[1].detach().expand(4, -1, -1))
    Bk = dr.backward_matrix(net, s, 1)
    assert torch.allclose(torch.einsum("ncm,nm->nc", Bk, s.h[0]), s.output)
    assert torch.allclose(dr.backward_matrix(net, s, net.L + 1), net.B.expand(4, -1, -1))


def test_layer_product_bad(setup):
    net, X, _ = setup
    s = dr.forward(net, X)
    with pytest.raises(ValueError, match="b must be"):
        dr.layer_product(s, 3, 2)
    with pytest.raises(TypeError, match="ForwardState"):
        dr.layer_product(X, 1, 2)


def test_backward_matrix_bad(setup):
    net, X, _ = setup
    s = dr.forward(net, X)
    with pytest.raises(ValueError, match="a must be"):
        dr.backward_matrix(net, s, 0)
    other = DeepReLUNet(5, 10, 3, 2, generator=make_generator(1))
    with pytest.raises(ValueError, match="does not come from this network"):
        dr.backward_matrix(other, s, 1)


def test_back_vectors_match_matrices(setup, gen):
    net, X, _ = setup
    s = dr.forward(net, X)
    V = torch.randn(4, 2, generator=gen, dtype=D)
    b = dr.back_vectors(net, s, V)
    assert len(b) == net.L + 1
    for a in range(1, net.L + 2):
        M = dr.backward_matrix(net, s, a)
        assert torch.allclose(b[a - 1], torch.einsum("ncm,nc->nm", M, V))


def test_back_vectors_bad(setup):
    net, X, _ = setup
    s = dr.forward(net, X)
    with pytest.raises(ValueError, match="V must have shape"):
        dr.back_vectors(net, s, torch.zeros(4, 3, dtype=D))


# ----------------------------------------------------------------------------- gradients

def test_fake_gradient_is_true_gradient(setup, gen):
    net, X, Y = setup
    P = dr.random_perturbation(net, 0.3, generator=gen)
    s = dr.forward(net, X, perturbation=P)
    G = dr.fake_gradient(net, s, s.output - Y)
    ref, _ = _autograd_grads(net, X, Y, P)
    assert all(torch.allclose(a, b) for a, b in zip(G, ref))


def test_fake_gradient_linear_in_v(setup, gen):
    net, X, _ = setup
    s = dr.forward(net, X)
    V1 = torch.randn(4, 2, generator=gen, dtype=D)
    V2 = torch.randn(4, 2, generator=gen, dtype=D)
    G = dr.fake_gradient(net, s, 2 * V1 - V2)
    G1, G2 = dr.fake_gradient(net, s, V1), dr.fake_gradient(net, s, V2)
    assert all(torch.allclose(g, 2 * a - b) for g, a, b in zip(G, G1, G2))


def test_fake_gradient_bad(setup):
    net, X, _ = setup
    s = dr.forward(net, X)
    with pytest.raises(ValueError, match="V must have shape"):
        dr.fake_gradient(net, s, torch.zeros(3, 2, dtype=D))


def test_gradient_bounds_against_autograd(setup, gen):
    net, X, Y = setup
    P = dr.random_perturbation(net, 0.1, generator=gen)
    gb = dr.gradient_bounds(net, X, Y, perturbation=P)
    ref, F = _autograd_grads(net, X, Y, P)
    assert abs(gb.loss - F) < 1e-10
    layer = torch.stack([g.pow(2).sum() for g in ref])
    assert torch.allclose(gb.layer_grad_sq, layer)
    assert abs(gb.last_layer_grad_sq - float(layer[-1])) < 1e-10
    assert abs(gb.grad_sq - float(layer.sum())) < 1e-10
    # per-example norms against autograd on single examples
    for i in range(X.shape[0]):
        gi, Fi = _autograd_grads(net, X[i:i + 1], Y[i:i + 1], P)
        assert torch.allclose(gb.example_layer_grad_sq[i], torch.stack([g.pow(2).sum()
                                                                        for g in gi]))
    assert gb.max_example_loss <= gb.loss


def test_gradient_bounds_bad(setup):
    net, X, Y = setup
    with pytest.raises(ValueError, match="Y must have shape"):
        dr.gradient_bounds(net, X, Y[:, :1])


# ----------------------------------------------------------------------------- telescoping

def test_relu_switch_diagonal_identity(gen):
    a = torch.randn(500, generator=gen, dtype=D)
    b = a + 0.5 * torch.randn(500, generator=gen, dtype=D)
    Dpp = relu = dr.relu_switch_diagonal(a, b)
    Dm = (a >= 0).to(D)
    assert torch.allclose(torch.relu(a) - torch.relu(b), (Dm + Dpp) * (a - b))
    assert float(relu.abs().max()) <= 1.0
    assert float((Dm + Dpp).abs().max()) <= 1.0
    same = (a >= 0) == (b >= 0)
    assert float(Dpp[same].abs().max()) == 0.0
    assert bool((Dpp[~same] != 0).all())


def test_relu_switch_diagonal_bad():
    with pytest.raises(ValueError, match="same shape"):
        dr.relu_switch_diagonal(torch.zeros(3, dtype=D), torch.zeros(4, dtype=D))
    with pytest.raises(TypeError, match="floating"):
        dr.relu_switch_diagonal(torch.zeros(3, dtype=torch.int64), torch.zeros(3, dtype=D))


@pytest.mark.parametrize("with_base", [False, True])
def test_telescoping_exact(setup, gen, with_base):
    net, X, _ = setup
    base = dr.random_perturbation(net, 0.2, generator=gen) if with_base else None
    P = dr.random_perturbation(net, 0.5, generator=gen)
    t = dr.telescoping(net, X, P, base=base)
    for u, v in zip(t.direct, t.telescoped):
        assert torch.allclose(u, v, atol=1e-12)
    assert t.terms.shape == (net.L, 4, net.m)
    assert torch.allclose(t.terms.sum(0), t.direct[-1], atol=1e-12)
    assert all(float(d.abs().max()) <= 1.0 for d in t.D_switch)


def test_telescoping_bad(setup):
    net, X, _ = setup
    with pytest.raises(TypeError, match="list of 3 tensors"):
        dr.telescoping(net, X, torch.zeros(3, 24, 24, dtype=D))


# ----------------------------------------------------------------------------- NTK

def test_ntk_linearisation_against_autograd(setup, gen):
    net, X, _ = setup
    P = dr.random_perturbation(net, 0.05, generator=gen)
    r = dr.ntk_linearisation(net, X, P)
    assert torch.allclose(r.initial, net(X))
    # y_ntk = <grad y(W0; x), W'> via reverse mode
    for i in range(X.shape[0]):
        for j in range(2):
            net.zero_grad()
            net(X[i:i + 1])[0, j].backward()
            val = sum(float((W.grad * p).sum()) for W, p in zip(net.Ws, P))
            assert abs(val - float(r.ntk[i, j])) < 1e-10
    assert torch.allclose(r.remainder, r.output - r.initial - r.ntk)


def test_ntk_remainder_is_second_order(setup, gen):
    net, X, _ = setup
    P = dr.random_perturbation(net, 1.0, generator=gen)
    small = dr.ntk_linearisation(net, X, [1e-4 * p for p in P]).remainder.abs().max()
    tiny = dr.ntk_linearisation(net, X, [1e-5 * p for p in P]).remainder.abs().max()
    # ReLU: piecewise linear, so for tiny radii no sign flips and the remainder is round-off
    # or decays at least quadratically
    assert float(tiny) <= 0.02 * float(small) + 1e-13


def test_ntk_linearisation_bad(setup):
    net, X, _ = setup
    with pytest.raises(ValueError, match="L=3 matrices"):
        dr.ntk_linearisation(net, X, [])


def test_gradient_drift_against_autograd(setup, gen):
    net, X, _ = setup
    P = dr.random_perturbation(net, 0.3, generator=gen)
    drift = dr.gradient_drift(net, X, P)
    net2 = DeepReLUNet(5, 24, 3, 2, generator=make_generator(0))
    net2.load_state_dict(net.state_dict())
    with torch.no_grad():
        for W, p in zip(net2.Ws, P):
            W.add_(p)
    for i in range(X.shape[0]):
        for j in range(2):
            g0 = torch.autograd.grad(net(X[i:i + 1])[0, j], list(net.Ws))
            g1 = torch.autograd.grad(net2(X[i:i + 1])[0, j], list(net2.Ws))
            num = math.sqrt(sum(float((a - b).pow(2).sum()) for a, b in zip(g0, g1)))
            den = math.sqrt(sum(float(a.pow(2).sum()) for a in g0))
            assert abs(num / den - float(drift[i, j])) < 1e-8


def test_gradient_drift_bad(setup):
    net, X, _ = setup
    with pytest.raises(TypeError, match="dtype"):
        dr.gradient_drift(net, X, [torch.zeros(24, 24)] * 3)


def test_ntk_gram_against_jacobian(setup, gen):
    net, X, _ = setup
    P = dr.random_perturbation(net, 0.2, generator=gen)
    for j in range(2):
        K = ntk_gram(net, X, output=j, perturbation=P)
        grads = []
        for i in range(X.shape[0]):
            Ws = [(W.detach() + p).requires_grad_(True) for W, p in zip(net.Ws, P)]
            h = torch.relu(X[i:i + 1] @ net.A.T)
            for W in Ws:
                h = torch.relu(h @ W.T)
            g = torch.autograd.grad((h @ net.B.T)[0, j], Ws)
            grads.append(torch.cat([t.reshape(-1) for t in g]))
        J = torch.stack(grads)
        assert torch.allclose(K, J @ J.T)


def test_ntk_gram_per_layer_sums_to_total(setup):
    net, X, _ = setup
    for j in range(2):
        per = ntk_gram(net, X, output=j, per_layer=True)
        assert per.shape == (net.L, X.shape[0], X.shape[0])
        torch.testing.assert_close(per.sum(0), ntk_gram(net, X, output=j), rtol=1e-13, atol=1e-13)
    # auto on a 2-output net without `output`: the generic path, all coordinate pairs
    K = ntk_gram(net, X)
    assert K.shape == (X.shape[0], X.shape[0], 2, 2)
    torch.testing.assert_close(K[:, :, 1, 1], ntk_gram(net, X, output=1), rtol=1e-10, atol=1e-10)


def test_ntk_gram_bad(setup):
    net, X, _ = setup
    with pytest.raises(ValueError, match="output must be"):
        ntk_gram(net, X, output=2)


# ----------------------------------------------------------------------------- Appendix C ResNet

def _resnet(gen, tau=0.2, L=4, m=20, c=2):
    net = dr.ResidualNet(5, m, L, c, tau=tau, generator=gen)
    X = dr.paper_inputs(3, 5, 0.3, generator=gen)
    return net, X


def test_resnet_shares_weights_with_plain_net_and_matches_formula():
    plain = DeepReLUNet(5, 20, 4, 2, generator=make_generator(7))
    net = dr.ResidualNet(5, 20, 4, 2, tau=0.3, generator=make_generator(7))
    assert torch.equal(plain.A, net.A) and torch.equal(plain.B, net.B)
    assert all(torch.equal(a, b) for a, b in zip(plain.Ws, net.Ws))
    X = dr.paper_inputs(3, 5, 0.3, generator=make_generator(8))
    h = torch.relu(X @ net.A.T)
    for W in list(net.Ws)[:-1]:
        h = torch.relu(h + 0.3 * h @ W.T)
    y = torch.relu(h @ net.Ws[-1].T) @ net.B.T
    assert torch.allclose(net(X), y, atol=1e-12)
    assert len(net.hidden_states(X)) == 5
    assert [n for n, _ in net.named_parameters()] == [f"Ws.{k}" for k in range(4)]


def test_resnet_tau_zero_is_identity_on_residual_layers(gen):
    net, X = _resnet(gen, tau=0.0)
    hs = net.hidden_states(X)
    for h in hs[1:-1]:
        assert torch.equal(h, hs[0])                    # relu(h) = h for h >= 0
    assert torch.allclose(net(X), torch.relu(hs[0] @ net.Ws[-1].T) @ net.B.T)


def test_resnet_deterministic():
    a = dr.ResidualNet(3, 8, 3, 1, tau=0.1, generator=make_generator(2))
    b = dr.ResidualNet(3, 8, 3, 1, tau=0.1, generator=make_generator(2))
    assert all(torch.equal(u, v) for u, v in zip(a.Ws, b.Ws))


def test_resnet_bad_inputs(gen):
    with pytest.raises(ValueError, match="tau must be"):
        dr.ResidualNet(3, 8, 3, 1, tau=-0.1, generator=gen)
    with pytest.raises(TypeError, match="generator"):
        dr.ResidualNet(3, 8, 3, 1, tau=0.1, generator=1)
    with pytest.raises(TypeError, match="dtype"):
        dr.ResidualNet(3, 8, 3, 1, tau=0.1, generator=gen, dtype=torch.int64)
    net, X = _resnet(gen)
    with pytest.raises(ValueError, match=r"shape \(n, 5\)"):
        net(torch.ones(2, 4, dtype=D))
    with pytest.raises(TypeError, match="dtype"):
        net(X.float())


def test_residual_product_is_jacobian_of_preactivation(gen):
    net, X = _resnet(gen, tau=0.4)
    Ws = [W.detach() for W in net.Ws]
    for a, b in ((3, 1), (2, 2), (3, 2)):
        P = dr.residual_product(net, X, a, b)
        for i in range(X.shape[0]):
            h_prev = net.hidden_states(X[i:i + 1])[b - 1][0].detach()

            def g_a(h, a=a, b=b):
                for ell in range(b, a):
                    h = torch.relu(h + net.tau * Ws[ell - 1] @ h)
                return h + net.tau * Ws[a - 1] @ h

            J = torch.autograd.functional.jacobian(g_a, h_prev)
            assert torch.allclose(P[i], J, atol=1e-12)


def test_residual_product_norm_near_one_for_small_tau(gen):
    net = dr.ResidualNet(5, 128, 9, 1, tau=1 / (8 * 9 * math.log(128)), generator=gen)
    X = dr.paper_inputs(2, 5, 0.3, generator=gen)
    norms = torch.linalg.matrix_norm(dr.residual_product(net, X, 8, 1), ord=2)
    assert (norms < 1.1).all() and (norms > 0.9).all()      # (C.1) up to the constant


def test_residual_product_bad(gen):
    net, X = _resnet(gen)
    with pytest.raises(ValueError, match="b must be"):
        dr.residual_product(net, X, 1, 2)
    with pytest.raises(ValueError, match="a must be"):
        dr.residual_product(net, X, 4, 1)
    with pytest.raises(TypeError, match="ResidualNet"):
        dr.residual_product(DeepReLUNet(5, 8, 2, 1, generator=gen), X, 1, 1)
    one = dr.ResidualNet(5, 8, 1, 1, tau=0.1, generator=gen)
    with pytest.raises(ValueError, match="no residual layers"):
        dr.residual_product(one, X, 1, 1)


def test_residual_ntk_gram_against_autograd(gen):
    net, X = _resnet(gen, tau=0.3)
    for j in range(2):
        per = ntk_gram(net, X, output=j, per_layer=True)
        grads = []
        for i in range(X.shape[0]):
            g = torch.autograd.grad(net(X[i:i + 1])[0, j], list(net.Ws))
            grads.append(g)
        for ell in range(net.L):
            G = torch.stack([g[ell].flatten() for g in grads])
            assert torch.allclose(per[ell], G @ G.T, atol=1e-12)
        assert torch.allclose(ntk_gram(net, X, output=j), per.sum(0))


def test_residual_ntk_gram_bad(gen):
    net, X = _resnet(gen)
    with pytest.raises(ValueError, match="output must be"):
        ntk_gram(net, X, output=2)
    with pytest.raises(TypeError, match="per_layer"):
        ntk_gram(net, X, per_layer=1)
    with pytest.raises(ValueError, match=r"shape \(n, 5\)"):
        ntk_gram(net, X[:, :4], output=0)


# --------------------------------------------------------------------------- Appendix B CNN

def test_circular_patches_are_q_regular():
    for positions, q in [(1, 1), (5, 3), (8, 4), (7, 7)]:
        Q = dr.circular_patches(positions, q)
        assert Q.shape == (positions, q)
        assert (torch.bincount(Q.flatten(), minlength=positions) == q).all()   # Assumption B.1
        assert all(len(set(row.tolist())) == q for row in Q)


def test_convnet_matches_an_explicit_loop_and_is_deterministic():
    gen_args = dict(generator=make_generator(3))
    net = dr.ConvNet(5, 3, 4, 3, 2, 0.1, **gen_args)
    X = dr.paper_inputs(3, 5, 0.3, generator=make_generator(4))
    hs = net.hidden_states(X)
    Q = dr.circular_patches(5, 3)
    h = torch.stack([torch.relu(net.A[j] @ X[:, Q[j]].T).T for j in range(5)], 1)
    assert torch.allclose(hs[0], h, atol=1e-13)
    for ell, (W, b) in enumerate(zip(net.convs, net.b, strict=True), start=1):
        h = torch.stack([torch.relu(h[:, Q[j]].flatten(1) @ W[j].T + 0.1 * b[j])
                         for j in range(5)], 1)
        assert torch.allclose(hs[ell], h, atol=1e-13)
    out = torch.relu(h.flatten(1) @ net.WL.T) @ net.B.T
    assert torch.allclose(net(X), out, atol=1e-13) and out.shape == (3, 2)
    again = dr.ConvNet(5, 3, 4, 3, 2, 0.1, generator=make_generator(3))
    assert torch.equal(again(X), net(X))
    trained = {name for name, p in net.named_parameters() if p.requires_grad}
    assert trained == {"convs.0", "convs.1", "WL"}


def test_convnet_input_layer_variance_and_bad_inputs():
    net = dr.ConvNet(6, 3, 64, 2, 1, 0.0, generator=make_generator(0), a_var=0.5)
    assert float(net.A.var()) == pytest.approx(0.5, rel=0.1)     # 1152 entries: 5 % sd
    with pytest.raises(ValueError, match="q must be <= positions"):
        dr.circular_patches(3, 4)
    with pytest.raises(ValueError, match="positions"):
        dr.circular_patches(0, 1)
    with pytest.raises(ValueError, match="tau"):
        dr.ConvNet(5, 3, 4, 2, 1, -1.0, generator=make_generator(0))
    with pytest.raises(ValueError, match="a_var"):
        dr.ConvNet(5, 3, 4, 2, 1, 0.1, generator=make_generator(0), a_var=0.0)
    with pytest.raises(TypeError, match="dtype"):
        dr.ConvNet(5, 3, 4, 2, 1, 0.1, generator=make_generator(0), dtype=torch.int64)
    with pytest.raises(ValueError, match=r"x must have shape \(n, 6\)"):
        net(torch.zeros(2, 5, dtype=torch.float64))
