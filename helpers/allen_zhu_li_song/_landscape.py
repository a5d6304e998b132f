r"""The landscape pictures of Figures 1-7: the objective on the plane of the gradient and the most
negatively curved Hessian direction, with the decreases that the figures' observation compares;
and the small-scale stand-ins of the appendix figures (networks and noisy-label data).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import gradients, hessian, models
from .._validate import (
    check_choice,
    check_dtype,
    check_generator,
    check_int,
    check_module,
    check_real,
    check_tensor,
)
from ..losses import LossFn
from ..rng import make_generator

__all__ = ["LandscapeSlice", "landscape_slice", "perturb_labels", "landscape_network",
           "LANDSCAPE_ARCHS"]

#: Architectures of :func:`landscape_network`: the small-scale stand-in, then the analogues of
#: the paper's ResNet-32, ResNet-110 and VGG19 (with batch norm).
LANDSCAPE_ARCHS = ("residual SmallCNN", "ResNet-32", "ResNet-110", "VGG19")


@dataclass(frozen=True)
class LandscapeSlice:
    r"""The objective on the slice :math:`Z(\alpha,\beta)=F(\vec{\mathbf W}+\alpha\hat{\mathbf g}
    +\beta\mathbf v)`, :math:`|\alpha|,|\beta|\le r` (:func:`landscape_slice`).

    Attributes
    ----------
    coords : numpy.ndarray, shape (k,)
        The grid of :math:`\alpha` (and of :math:`\beta`), symmetric around 0, ``k`` odd.
    values : numpy.ndarray, shape (k, k)
        :math:`Z`: row :math:`j` is :math:`\beta_j` (curvature), column :math:`i` is
        :math:`\alpha_i` (gradient), ready for ``contourf(coords, coords, values)``.
    grad_norm : float
        :math:`\|\nabla F\|`.
    lambda_max, lambda_min : float
        Lanczos estimates of the extreme Hessian eigenvalues.
    cos_grad_v : float
        :math:`|\langle\hat{\mathbf g},\mathbf v\rangle|`.
    residual : float
        Largest Lanczos residual :math:`\|H\mathbf v-\theta\mathbf v\|`, relative to
        :math:`\lambda_{\max}`: some eigenvalue lies that close to each estimate.
    """

    coords: np.ndarray
    values: np.ndarray
    grad_norm: float
    lambda_max: float
    lambda_min: float
    cos_grad_v: float
    residual: float

    @property
    def loss(self) -> float:
        """:math:`F` at the current weights (the centre of the slice)."""
        mid = len(self.coords) // 2
        return float(self.values[mid, mid])

    @property
    def decrease_gradient(self) -> float:
        r""":math:`\Delta_{\rm grad}=F-\min_{-r\le\alpha\le0}Z(\alpha,0)` (>= 0)."""
        mid = len(self.coords) // 2
        return self.loss - float(self.values[mid, :mid + 1].min())

    @property
    def decrease_curvature(self) -> float:
        r""":math:`\Delta_{\rm curv}=F-\min_{|\beta|\le r}Z(0,\beta)` (either sign, >= 0)."""
        mid = len(self.coords) // 2
        return self.loss - float(self.values[:, mid].min())

    @property
    def decrease_slice(self) -> float:
        r""":math:`\Delta_{\rm slice}=F-\min_{\alpha^2+\beta^2\le r^2}Z(\alpha,\beta)`."""
        r = float(self.coords[-1])
        disk = np.hypot(*np.meshgrid(self.coords, self.coords)) <= r * (1 + 1e-12)
        return self.loss - float(self.values[disk].min())


def landscape_slice(model: torch.nn.Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor,
                    *, lr: float, grid: int, lanczos_min: int, lanczos_max: int, seed: int,
                    chunk_size: int = 16) -> LandscapeSlice:
    r"""The construction of Figures 1-7 at the current weights: gradient, extreme Hessian
    eigenpairs (Lanczos) and the objective on the plane of :math:`\hat{\mathbf g}` and the most
    negatively curved direction :math:`\mathbf v`, out to :math:`r=2\eta\|\nabla F\|` (twice a
    full gradient step).

    The model is put in eval mode while measuring (running batch-norm statistics: :math:`F` is
    then a fixed function of the weights) and returned to its mode; its weights are unchanged.

    Parameters
    ----------
    model : torch.nn.Module
    loss_fn : helpers.losses.LossFn
        Per-example loss; :math:`F` is its mean.
    X, y : torch.Tensor
        The examples on which :math:`F` is measured.
    lr : float
        The step size :math:`\eta` (> 0) that sets the radius.
    grid : int
        Points per axis (odd, >= 3).
    lanczos_min, lanczos_max : int
        Lanczos steps for the most negative and for the largest eigenvalue.
    seed : int
        Seed of the Lanczos start vectors (the same start for both).
    chunk_size : int, default 16
        Grid points evaluated at once (:func:`helpers.hessian.landscape_grid`).

    Returns
    -------
    LandscapeSlice

    References
    ----------
    Allen-Zhu, Li & Song, Section 4.1, Figure 1 and the appendix Figures 2-7; Theorems 3 and 4.

    Examples
    --------
    >>> import torch
    >>> from helpers.losses import cross_entropy
    >>> from helpers.models import MLP
    >>> from helpers.rng import make_generator
    >>> gen = make_generator(0)
    >>> net = MLP(3, 8, 2, 2, generator=gen)
    >>> X, y = torch.randn(6, 3, generator=gen, dtype=torch.float64), torch.arange(6) % 2
    >>> s = landscape_slice(net, cross_entropy, X, y, lr=0.5, grid=5, lanczos_min=10,
    ...                     lanczos_max=10, seed=0)
    >>> s.values.shape, s.decrease_gradient > s.decrease_curvature, s.lambda_min < 0
    ((5, 5), True, True)
    """
    model = check_module(model)
    lr = check_real(lr, "lr", minimum=0.0, strict_min=True)
    grid = check_int(grid, "grid", minimum=3)
    if grid % 2 == 0:
        raise ValueError(f"grid must be odd (a point at the centre), got {grid}")
    lanczos_min = check_int(lanczos_min, "lanczos_min", minimum=1)
    lanczos_max = check_int(lanczos_max, "lanczos_max", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        grad = gradients.flat_gradient(model, loss_fn, X, y)
        top = hessian.extreme_eigenpair(model, loss_fn, X, y, which="max", iters=lanczos_max,
                                        generator=make_generator(seed, device))
        bottom = hessian.extreme_eigenpair(model, loss_fn, X, y, which="min", iters=lanczos_min,
                                           generator=make_generator(seed, device))
        r = 2 * lr * float(grad.norm())
        coords = np.linspace(-r, r, grid)
        Z = hessian.landscape_grid(model, loss_fn, X, y, grad / grad.norm(), bottom.vector,
                                   coords, coords, chunk_size=chunk_size).cpu().numpy()
    finally:
        model.train(was_training)
    return LandscapeSlice(coords, Z, float(grad.norm()), top.value, bottom.value,
                          abs(float(grad @ bottom.vector / grad.norm())),
                          max(top.residual, bottom.residual) / top.value)


def perturb_labels(y: torch.Tensor, fraction: float, num_classes: int, *,
                   generator: torch.Generator) -> torch.Tensor:
    r"""Move a fraction of the labels to a uniformly random **other** class (the "20% noise" of
    Figures 5-7: "we have randomly perturbed 20% of the true labels").

    Parameters
    ----------
    y : torch.Tensor, shape (n,), int64
        Labels in ``0..num_classes - 1`` (not modified).
    fraction : float
        In [0, 1]; ``round(fraction * n)`` labels move (a uniformly random subset).
    num_classes : int
        >= 2.
    generator : torch.Generator
        Draws the subset, then the shifts (both always drawn, so that the generator advances
        the same way for every ``fraction``).

    Returns
    -------
    torch.Tensor, shape (n,)

    References
    ----------
    Allen-Zhu, Li & Song, Figures 5-7 (captions).

    Examples
    --------
    >>> import torch
    >>> from helpers.rng import make_generator
    >>> y = torch.arange(10) % 3
    >>> z = perturb_labels(y, 0.3, 3, generator=make_generator(0))
    >>> int((z != y).sum()), bool(((z >= 0) & (z < 3)).all())
    (3, True)
    """
    y = check_tensor(y, "y", ndim=1)
    if y.is_floating_point():
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    fraction = check_real(fraction, "fraction", minimum=0.0, maximum=1.0)
    num_classes = check_int(num_classes, "num_classes", minimum=2)
    check_generator(generator)
    flip = torch.randperm(len(y), generator=generator, device=generator.device)
    flip = flip[: round(fraction * len(y))].to(y.device)
    shift = torch.randint(1, num_classes, (len(flip),), generator=generator,
                          device=generator.device).to(y.device)
    y = y.clone()
    y[flip] = (y[flip] + shift) % num_classes
    return y


def landscape_network(arch: str, num_classes: int, *, generator: torch.Generator,
                      dtype: torch.dtype = torch.float64) -> torch.nn.Module:
    r"""The network of one row of the landscape figures.

    ``"residual SmallCNN"`` is the small-scale stand-in (:class:`helpers.models.SmallCNN` with
    width 8, two blocks and skip connections, no batch norm); ``"ResNet-32"`` and
    ``"ResNet-110"`` are pre-activation :class:`helpers.models.WideResNet` with 5 and 18
    residual blocks per stage (depths 34 and 112 in the WRN convention), ``"VGG19"`` a
    ``WideResNet`` of width 4 with the shortcuts removed (19 convolutions and a linear layer,
    with batch norm).

    Parameters
    ----------
    arch : str
        One of :data:`LANDSCAPE_ARCHS`.
    num_classes : int
        Outputs (>= 2).
    generator : torch.Generator
        Draws the weights (the network lives on its device).
    dtype : torch.dtype, default torch.float64

    Returns
    -------
    torch.nn.Module

    References
    ----------
    Allen-Zhu, Li & Song, Figures 1-7 (VGG19, ResNet-32, ResNet-110).

    Examples
    --------
    >>> from helpers.rng import make_generator
    >>> net = landscape_network("residual SmallCNN", 10, generator=make_generator(0))
    >>> type(net).__name__, sum(p.numel() for p in net.parameters()) > 0
    ('SmallCNN', True)
    """
    arch = check_choice(arch, "arch", LANDSCAPE_ARCHS)
    num_classes = check_int(num_classes, "num_classes", minimum=2)
    check_generator(generator)
    dtype = check_dtype(dtype)
    if arch == "residual SmallCNN":
        return models.SmallCNN(3, num_classes, generator=generator, width=8, depth=2, skip=True,
                               dtype=dtype)
    depth, width, skip = {"ResNet-32": (34, 1, True), "ResNet-110": (112, 1, True),
                          "VGG19": (22, 4, False)}[arch]
    return models.WideResNet(depth, width, num_classes, generator=generator, skip=skip,
                             dtype=dtype).to(generator.device)
