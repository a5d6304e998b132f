r"""Data-dependent initialisation equivalent to batch normalisation on one minibatch.

Sankararaman et al. [L] Section 7 ("Effect of batch normalization and skip connections",
Figure 5) compare WRN-40-2 without batch norm and skip connections to the same network with
them. "To make the comparison fair such that all networks start from the same initialization
point, for the network without batch normalization, we use a reparameterization equivalent to
batch normalization using the first sampled minibatch of data" (in the spirit of Mishkin &
Matas 2015, Salimans & Kingma 2016, Kraehenbuehl et al. 2015).

:func:`data_dependent_init_` implements that reparameterisation for convolutional networks:
going through the network in forward order, the output of every ``Conv2d`` on the minibatch
:math:`\mathbf X` is normalised per channel,

.. math::

    \mathbf W_c \leftarrow \frac{\mathbf W_c}{\sqrt{s_c^2 + \epsilon}}, \qquad
    b_c \leftarrow \frac{b_c - \mu_c}{\sqrt{s_c^2 + \epsilon}},

where :math:`\mu_c, s_c^2` are the mean and (biased) variance of output channel :math:`c` over
the batch and spatial positions, computed *after* the earlier layers were rescaled. The conv then
outputs exactly :math:`(\mathrm{conv}(\mathbf x) - \mu_c)/\sqrt{s_c^2+\epsilon}` on that batch:
what a freshly initialised ``BatchNorm2d`` (:math:`\gamma = 1, \beta = 0`, training mode, same
:math:`\epsilon`) placed after the conv computes. For
:class:`helpers.models.WideResNet` with ``skip=False`` every batch norm sits directly after a
conv (pre-activation blocks: the ``bn1`` of a block normalises the previous block's last conv,
``bn2`` the block's first conv, the final ``bn`` the last conv), so the plain network after this
initialisation computes on that minibatch the same function as the batch-normalised network with
the same conv weights.
"""

from __future__ import annotations

import torch
from torch import nn

from .._validate import check_module, check_real, check_tensor

__all__ = ["data_dependent_init_"]


def data_dependent_init_(model: nn.Module, X: torch.Tensor, *, eps: float = 1e-5) -> nn.Module:
    r"""Rescale every conv so its output channels have mean 0 and variance 1 on ``X``, in place.

    For each ``torch.nn.Conv2d`` of ``model``, in the order the forward pass calls them, with
    :math:`\mu_c` and :math:`s_c^2` the mean and biased variance of output channel :math:`c`
    over the batch and spatial positions (after the earlier convs were rescaled):
    :math:`\mathbf W_c \leftarrow \mathbf W_c/\sqrt{s_c^2+\epsilon}` and
    :math:`b_c \leftarrow (b_c-\mu_c)/\sqrt{s_c^2+\epsilon}`. This is the batch-normalisation
    transform at initialisation (:math:`\gamma=1,\beta=0`) folded into the conv, the
    "reparameterization equivalent to batch normalization using the first sampled minibatch"
    of Sankararaman et al. [L] Section 7 (Figure 5).

    Parameters
    ----------
    model : torch.nn.Module
        A network whose convs all carry a bias (e.g. ``WideResNet(..., batch_norm=False)``);
        each conv must be called at most once per forward pass. Modified in place.
    X : Tensor (b, ...)
        The minibatch (``b >= 2``), on the model's device and dtype.
    eps : float, default 1e-5
        Added to the variance, as ``torch.nn.BatchNorm2d`` does.

    Returns
    -------
    torch.nn.Module
        ``model`` itself.

    Raises
    ------
    ValueError
        A conv has no bias (the mean shift cannot be absorbed), a conv is called twice in one
        forward pass, or ``model`` has no conv at all.

    References
    ----------
    Sankararaman et al. (long version), Section 7, Figure 5; Ioffe & Szegedy (2015), Algorithm 1.

    Examples
    --------
    >>> import torch
    >>> from helpers.gradient_confusion import data_dependent_init_
    >>> from helpers.rng import make_generator
    >>> g = make_generator(0)
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(),
    ...                           torch.nn.Conv2d(4, 2, 3)).double()
    >>> X = torch.randn(16, 1, 8, 8, generator=g, dtype=torch.float64)
    >>> out = data_dependent_init_(net, X)(X)
    >>> out.mean(dim=(0, 2, 3)).abs().max().item() < 1e-12
    True
    >>> [round(v, 3) for v in out.var(dim=(0, 2, 3), unbiased=False).tolist()]
    [1.0, 1.0]
    """
    check_module(model)
    X = check_tensor(X, "X", floating=True)
    if X.shape[0] < 2:
        raise ValueError(f"X must hold a minibatch of at least 2 examples (a variance is"
                         f" estimated), got shape {tuple(X.shape)}")
    eps = check_real(eps, "eps", minimum=0.0, strict_min=True)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError("model must contain at least one torch.nn.Conv2d, got none")
    for i, conv in enumerate(convs):
        if conv.bias is None:
            raise ValueError(f"every Conv2d needs a bias to absorb the mean shift; conv number {i}"
                             f" ({conv}) has bias=None (build the network without batch norm)")

    done: set[int] = set()

    def hook(module: nn.Conv2d, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        if id(module) in done:
            raise ValueError(f"{module} is called twice in one forward pass; the data-dependent"
                             " initialisation is defined only for convs used once")
        done.add(id(module))
        mean = output.mean(dim=(0, 2, 3))
        scale = torch.rsqrt(output.var(dim=(0, 2, 3), unbiased=False) + eps)
        module.weight.mul_(scale.view(-1, 1, 1, 1))
        module.bias.sub_(mean).mul_(scale)
        return (output - mean.view(1, -1, 1, 1)) * scale.view(1, -1, 1, 1)

    handles = [conv.register_forward_hook(hook) for conv in convs]
    try:
        with torch.no_grad():
            model(X)
    finally:
        for handle in handles:
            handle.remove()
    return model
