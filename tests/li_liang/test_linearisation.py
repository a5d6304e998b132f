"""Tests for the NTK view of Li & Liang's network: the closed-form kernel against the generic
ntk_gram (vmap, autograd) and the pseudo-network module against the Taylor expansion."""

from __future__ import annotations

import pytest
import torch

from helpers import gradients, losses, train
from helpers.li_liang import LiLiangNet, PseudoNetwork, pseudo_network, relu_network
from helpers.models import TwoLayerNet


def test_li_liang_net_is_two_layer_net(gen):
    state = gen.get_state()
    net = LiLiangNet(6, 11, generator=gen, d_out=3)
    gen.set_state(state)
    ref = TwoLayerNet(6, 11, generator=gen, variant="li-liang", d_out=3)
    assert torch.equal(net.hidden_weights, ref.hidden_weights)
    assert torch.equal(net.output_weights, ref.output_weights)
    X = torch.randn(4, 6, generator=gen, dtype=torch.float64)
    assert torch.equal(net(X), ref(X))


@pytest.mark.parametrize("output", [0, 2])
def test_closed_form_ntk_matches_autograd(gen, output):
    net = LiLiangNet(5, 40, generator=gen, d_out=3)
    X = torch.randn(7, 5, generator=gen, dtype=torch.float64)
    K = gradients.ntk_gram(net, X, output=output)                   # closed form
    K_vmap = gradients.ntk_gram(net, X, method="vmap")[:, :, output, output]
    torch.testing.assert_close(K, K_vmap)
    torch.testing.assert_close(K, K.T)
    assert float(torch.linalg.eigvalsh(K)[0]) > -1e-10


def test_closed_form_ntk_single_output_auto(gen):
    net = LiLiangNet(4, 30, generator=gen)
    X = torch.randn(5, 4, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(gradients.ntk_gram(net, X),
                               gradients.ntk_gram(net, X, method="vmap"))


def test_pseudo_network_module_is_the_taylor_expansion(gen):
    net = LiLiangNet(5, 25, generator=gen, d_out=2)
    g = PseudoNetwork(net)
    X = torch.randn(8, 5, generator=gen, dtype=torch.float64)
    W0 = net.hidden_weights.detach().clone()
    D = 0.3 * torch.randn(W0.shape, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        g.hidden_weights += D
    _, tangent = torch.func.jvp(lambda W: relu_network(W, net.output_weights, X), (W0,), (D,))
    torch.testing.assert_close(g(X), relu_network(W0, net.output_weights, X) + tangent)
    torch.testing.assert_close(g(X), pseudo_network(W0 + D, W0, net.output_weights, X))


def test_pseudo_network_trains_with_the_trainer_and_stays_linear(gen):
    net = LiLiangNet(4, 50, generator=gen, d_out=3)
    g = PseudoNetwork(net)
    X = torch.randn(12, 4, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (12,), generator=gen)
    hist = train.train(g, losses.cross_entropy, X, y, lr=0.1, steps=20)
    assert hist.final("loss") < hist.column("loss")[0]
    assert torch.equal(g.initial_weights, net.hidden_weights.detach())   # pattern frozen
    assert [n for n, _ in g.named_parameters()] == ["hidden_weights"]


def test_linearisation_bad_inputs(gen):
    with pytest.raises(TypeError, match="variant='li-liang'"):
        PseudoNetwork(TwoLayerNet(3, 4, generator=gen, variant="oymak"))
    net = LiLiangNet(3, 4, generator=gen, d_out=2)
    with pytest.raises(ValueError, match="output must be an integer <= 1"):
        net.closed_form_ntk(torch.ones(2, 3, dtype=torch.float64), output=2)
    with pytest.raises(ValueError, match="per_layer and perturbation"):
        net.closed_form_ntk(torch.ones(2, 3, dtype=torch.float64), per_layer=True)
    with pytest.raises(ValueError, match="X must have 3 columns"):
        net.closed_form_ntk(torch.ones(2, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="width must be an integer >= 1"):
        LiLiangNet(3, 0, generator=gen)
