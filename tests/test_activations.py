"""The activation registry: every derivative is autograd's, names and errors."""

from __future__ import annotations

import pytest
import torch

from helpers import activations


@pytest.mark.parametrize("name", activations.NAMES)
def test_derivative_is_autograd(name):
    z = torch.linspace(-3, 3, 25, dtype=torch.float64)
    z = z[z != 0].requires_grad_(True)               # ReLU: the two conventions differ at 0 only
    act = activations.get(name)
    (g,) = torch.autograd.grad(act(z).sum(), z)
    torch.testing.assert_close(act.derivative(z.detach()), g, rtol=1e-12, atol=1e-12)


def test_relu_derivative_at_zero_is_autograds():
    z = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(torch.relu(z).sum(), z)
    assert torch.equal(activations.get("relu").derivative(z.detach()), g)   # 1{z > 0}


def test_models_and_kernels_share_the_registry():
    from helpers.models import MLP
    from helpers.oymak_soltanolkotabi import KERNEL_ACTIVATIONS
    from helpers.rng import make_generator
    net = MLP(2, 3, 1, 1, generator=make_generator(0), activation="softplus")
    assert net.activation is activations.get("softplus").fn
    assert set(KERNEL_ACTIVATIONS) <= set(activations.NAMES)


def test_bad_names():
    with pytest.raises(ValueError, match="activation must be one of"):
        activations.get("swish")
    with pytest.raises(ValueError, match=r"activation must be one of \['relu', 'softplus'\]"):
        activations.get("tanh", allowed=("relu", "softplus"))
    with pytest.raises(ValueError, match="allowed must be a subset"):
        activations.get("relu", allowed=("relu", "swish"))
