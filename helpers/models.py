"""The networks of the four papers, with seeded initialisations written out by hand.

Which model serves which paper
------------------------------
* :class:`LinearModel` -- Sankararaman et al. (long version [L]), the linear models
  :math:`g_{\\mathbf w}(\\mathbf x) = \\mathbf w^\\top\\mathbf x` of eq. (4), Theorems 5.1, 5.2 and
  6.1 (Gaussian weights :math:`\\mathcal N(0, \\nu^2)`: ``init="gaussian", std=nu``).
* :class:`MLP` -- Sankararaman et al.: the feed-forward net of [L] eq. (5) (depth
  :math:`\\beta` = number of hidden layers, :math:`\\beta + 1` weight matrices
  :math:`\\mathbf W_0, \\dots, \\mathbf W_\\beta`; ``activate_output=True`` applies
  :math:`\\sigma` to the output as eq. (5) does), at the initialisations the paper compares:
  Glorot and LeCun normal ([L] Appendix A, Figures 2, 6-9), He/MSRA ([L] Section 7),
  Strategy 4.1 of the ICML version [I] (``"lecun"`` with ``gain = 1/sqrt(kappa)``), uniform
  :math:`[-1/\\sqrt\\ell, 1/\\sqrt\\ell]` ([L] Section 6.1, Theorem 6.2) and orthogonal
  ([I] Section 6, eq. (4) and Theorem 6.1: ``activation="linear", init="orthogonal",
  output_scale=1/sqrt(2*beta)`` with ``beta = depth + 1`` matrices).
  :meth:`MLP.forward_with_preactivations` and :meth:`MLP.backward_signals` give the layer
  inputs :math:`\\mathbf a_{p-1}` and back-propagated signals :math:`\\boldsymbol\\delta_p` of
  the layer-wise gradient formula :math:`\\nabla_{\\mathbf W_p} f_i =
  \\boldsymbol\\delta_p(\\mathbf x_i)\\,\\mathbf a_{p-1}(\\mathbf x_i)^\\top` ([L] eq. (15)).
* :class:`TwoLayerNet` -- one hidden layer, hidden weights trained, output layer frozen:
  ``variant="li-liang"`` is Li & Liang, Section 3 and (A3); ``variant="oymak"`` is Oymak &
  Soltanolkotabi, eq. (1.1) with the initialisation of Theorem 2.1.
* :class:`DeepReLUNet` -- Allen-Zhu, Li & Song, Section 2 and Definition 2.3.
* :class:`SmallCNN`, :class:`WideResNet` -- the convolutional experiments of Sankararaman et al.
  ([L] Section 7 and Appendix E: WRN-:math:`\\beta`-:math:`\\ell` with and without batch
  normalisation and skip connections; [I] Section 7 calls the plain version CNN-β-ℓ).

Initialisation and learning-rate conventions found in the papers
----------------------------------------------------------------
* Sankararaman et al. SGD with constant step :math:`\\alpha < 2/(NL)` (Theorems 3.1, 3.2).
  WRN experiments ([L] Section 7): MSRA (He) init, SGD without momentum, batch 128, 200 epochs,
  initial rate tuned over :math:`\\{10^1, \\dots, 10^{-4}\\}` and divided by 10 at epochs 80 and
  160, weight decay :math:`10^{-4}` ([I] Section 7: no weight decay), conv biases only when
  batch norm is off. MNIST MLPs ([L] Appendix A): Glorot normal
  :math:`\\mathcal N(0, 2/(\\text{fan-in}+\\text{fan-out}))` or LeCun normal
  :math:`\\mathcal N(0, 1/\\text{fan-in})`, biases initialised to 0, constant rate tuned over
  :math:`\\{10^0, \\dots, 10^{-6}\\}`, batch 128, 40 000 iterations.
* Li & Liang (A3): :math:`w_r^{(0)} \\sim \\mathcal N(0, \\sigma^2 I)` with
  :math:`\\sigma = 1/\\sqrt m` and :math:`a_{i,r} \\sim \\mathcal N(0, 1)`; rate
  :math:`\\eta = 1/(m\\,\\mathrm{poly}(k, l, 1/\\delta, 1/\\varepsilon, \\log m))` (Theorem 4.1);
  Section 7 uses :math:`\\eta = 10/m` (synthetic, batch 16, 400 steps) and
  :math:`\\eta = 400/m` (MNIST, batch 64, :math:`2\\cdot10^4` steps). Section 7 writes the
  init as ":math:`\\mathcal N(0, 1/\\sqrt m)`", which matches (A3) only if the second argument
  is the standard deviation.
* Oymak & Soltanolkotabi (Theorem 2.1 and footnote 1): :math:`\\mathbf W_0` i.i.d.
  :math:`\\mathcal N(0,1)`; :math:`\\mathbf v` fixed, half its entries
  :math:`+\\|\\mathbf y\\|/\\sqrt{kn}` and half :math:`-\\|\\mathbf y\\|/\\sqrt{kn}` (one zero for
  odd :math:`k`); loss (2.1) is a sum; GD step
  :math:`\\eta = n\\bar\\eta/(2B^2\\|\\mathbf y\\|^2\\|\\mathbf X\\|^2)` (smooth, Theorem 2.1) or
  :math:`n\\bar\\eta/(3\\|\\mathbf y\\|^2\\|\\mathbf X\\|^2)` (ReLU, Theorem 2.3),
  :math:`\\bar\\eta \\le 1`, independent of the width :math:`k`; Section 4 uses
  :math:`\\eta = 0.15` (softplus) and :math:`0.1` (ReLU).
* Allen-Zhu, Li & Song (Definition 2.3): :math:`\\mathbf A, \\mathbf W_\\ell` entries
  :math:`\\mathcal N(0, 2/m)`, :math:`\\mathbf B` entries :math:`\\mathcal N(0, 1/d)`
  (:math:`d` = output dimension); only :math:`\\mathbf W_1..\\mathbf W_L` trained; loss a sum;
  GD rate :math:`\\eta = \\Theta(d\\delta/(\\mathrm{poly}(n, L)\\,m))` (Theorem 1), SGD
  :math:`\\Theta(b\\delta d/(\\mathrm{poly}(n, L)\\,m\\log^2 m))` (Theorem 2); inputs have
  :math:`\\|\\mathbf x\\| = 1` (footnote 5).

Conventions of this module
--------------------------
* Every random draw uses the required keyword ``generator``; constructors never touch torch's
  global generator (layers are built with ``torch.nn.utils.skip_init``). Parameters are created
  on the generator's device. Draws happen layer by layer in forward order.
* Frozen layers (the output layers of :class:`TwoLayerNet`, ``A`` and ``B`` of
  :class:`DeepReLUNet`) are registered as **buffers**, not parameters: ``model.parameters()``
  returns exactly the trained weights, so optimisers, :func:`helpers.train.train` and
  per-example gradients see the papers' trainable set. Buffers still follow ``.to(...)`` and
  ``state_dict``.
* Outputs are always two-dimensional, ``(n, out)``, also when ``out = 1``.
* Biases (where switched on) start at zero. :math:`\\mathrm{ReLU}'(0) = 0`, as in autograd
  (the papers' :math:`\\mathbb 1_{z \\ge 0}` differs only on a null set).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from . import activations as _activations
from ._validate import (
    _describe,
    check_choice,
    check_dtype,
    check_generator,
    check_int,
    check_real,
    check_tensor,
)

__all__ = [
    "INIT_SCHEMES",
    "VARIANTS",
    "init_weight_",
    "LinearModel",
    "ForwardTrace",
    "MLP",
    "TwoLayerNet",
    "SmallCNN",
    "WideResNet",
    "count_parameters",
]

#: Initialisation schemes of :func:`init_weight_`.
INIT_SCHEMES = ("glorot", "lecun", "he", "uniform", "orthogonal", "gaussian")
#: Variants of :class:`TwoLayerNet`.
VARIANTS = ("li-liang", "oymak")


# --------------------------------------------------------------------------- validation

def _check_bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {_describe(value)}")
    return value


def _check_input(x: object, model: nn.Module, ndim: int, dim1: int, name: str = "x"
                 ) -> torch.Tensor:
    """Shape/dtype checks that also work inside ``torch.func`` transforms (no value checks)."""
    x = check_tensor(x, name, ndim=ndim, floating=True, finite=False)
    if x.shape[1] != dim1:
        what = "features" if ndim == 2 else "channels"
        raise ValueError(f"{name} must have {dim1} {what} (shape[1]), got shape {tuple(x.shape)}")
    ref = next(model.parameters())
    if x.dtype != ref.dtype:
        raise TypeError(
            f"{name} must have the model's dtype {ref.dtype}, got {x.dtype}; convert with"
            f" x.to({ref.dtype})"
        )
    return x


def _new_linear(fan_in: int, fan_out: int, bias: bool, dtype: torch.dtype,
                device: torch.device) -> nn.Linear:
    """An uninitialised ``nn.Linear`` (no draw from the global generator); bias zeroed."""
    layer = nn.utils.skip_init(nn.Linear, fan_in, fan_out, bias=bias, device=device, dtype=dtype)
    if layer.bias is not None:
        with torch.no_grad():
            layer.bias.zero_()
    return layer


def _new_conv(c_in: int, c_out: int, kernel: int, stride: int, bias: bool, dtype: torch.dtype,
              device: torch.device) -> nn.Conv2d:
    conv = nn.utils.skip_init(nn.Conv2d, c_in, c_out, kernel, stride=stride,
                              padding=kernel // 2, bias=bias, device=device, dtype=dtype)
    if conv.bias is not None:
        with torch.no_grad():
            conv.bias.zero_()
    return conv


# --------------------------------------------------------------------------- init

def init_weight_(weight: torch.Tensor, scheme: str, *, generator: torch.Generator,
                 gain: float = 1.0, std: float | None = None) -> torch.Tensor:
    """Fill ``weight`` in place from an initialisation scheme, drawing only from ``generator``.

    With fan-in :math:`a` and fan-out :math:`b` (for a conv kernel of shape
    ``(c_out, c_in, kh, kw)``: :math:`a = c_{in} k_h k_w`, :math:`b = c_{out} k_h k_w`):

    * ``"glorot"``: :math:`\\mathcal N(0, g^2\\cdot 2/(a + b))` (Glorot normal);
    * ``"lecun"``: :math:`\\mathcal N(0, g^2/a)`;
    * ``"he"``: :math:`\\mathcal N(0, g^2\\cdot 2/a)` (MSRA, fan-in mode);
    * ``"uniform"``: :math:`U(-g/\\sqrt a, g/\\sqrt a)`, variance :math:`g^2/(3a)` (the
      :math:`\\pm 1/\\sqrt\\ell` rule of PyTorch-style layers);
    * ``"orthogonal"``: :math:`g\\,\\mathbf Q` with :math:`\\mathbf Q` Haar-distributed with
      orthonormal rows (if :math:`b \\le` the flattened fan-in) or columns: QR of a Gaussian
      matrix with the signs of :math:`\\mathrm{diag}(\\mathbf R)` moved into :math:`\\mathbf Q`;
    * ``"gaussian"``: :math:`\\mathcal N(0, g^2\\,\\mathrm{std}^2)`.

    Parameters
    ----------
    weight : torch.Tensor, shape (fan_out, fan_in) or (fan_out, fan_in, *kernel)
        Floating tensor (or ``nn.Parameter``), overwritten in place without recording autograd.
    scheme : {"glorot", "lecun", "he", "uniform", "orthogonal", "gaussian"}
    generator : torch.Generator
        Source of every draw; must live on ``weight``'s device.
    gain : float, default 1.0
        Positive multiplier of the standard deviation (uniform: of the bound; orthogonal: of
        the singular values). Strategy 4.1 of [I] is ``"lecun"`` with ``gain = 1/sqrt(kappa)``.
    std : float, optional
        Standard deviation for ``"gaussian"`` (required there, rejected for the other schemes).

    Returns
    -------
    torch.Tensor
        ``weight`` itself.

    References
    ----------
    Sankararaman et al. [L] Appendix A (Glorot and LeCun normal), Section 6.1 and Theorem 6.2
    (uniform :math:`[-1/\\sqrt\\ell, 1/\\sqrt\\ell]`), Section 7 (MSRA), Assumption 5.1 (small
    weights); [I] Strategy 4.1 and Theorem 6.1 (orthogonal). Mezzadri (2007) for the sign fix
    that makes the QR factor Haar distributed.

    Examples
    --------
    >>> import torch
    >>> from helpers.models import init_weight_
    >>> from helpers.rng import make_generator
    >>> w = init_weight_(torch.empty(3, 5, dtype=torch.float64), "orthogonal",
    ...                  generator=make_generator(0))
    >>> torch.allclose(w @ w.T, torch.eye(3, dtype=torch.float64))
    True
    >>> w = init_weight_(torch.empty(500, 400, dtype=torch.float64), "he",
    ...                  generator=make_generator(0))
    >>> round(w.var().item() * 400, 1)
    2.0
    """
    weight = check_tensor(weight, "weight", ndim=(2, 3, 4, 5), floating=True, finite=False)
    scheme = check_choice(scheme, "scheme", INIT_SCHEMES)
    check_generator(generator, device=weight.device)
    gain = check_real(gain, "gain", minimum=0.0, strict_min=True)
    if scheme == "gaussian":
        if std is None:
            raise ValueError("std is required for scheme='gaussian' (the standard deviation)")
        std = check_real(std, "std", minimum=0.0, strict_min=True)
    elif std is not None:
        raise ValueError(f"std is only used by scheme='gaussian', got std={std!r} with"
                         f" scheme={scheme!r}")
    receptive = math.prod(weight.shape[2:]) if weight.dim() > 2 else 1
    fan_out = weight.shape[0] * receptive
    fan_in = weight.shape[1] * receptive
    kw = {"generator": generator, "dtype": weight.dtype, "device": weight.device}
    if scheme == "orthogonal":
        rows = weight.shape[0]
        cols = weight.numel() // rows
        g = torch.randn(max(rows, cols), min(rows, cols), **kw)
        q, r = torch.linalg.qr(g)
        signs = torch.where(torch.diagonal(r) >= 0, 1.0, -1.0).to(q.dtype)
        q = q * signs
        if rows < cols:
            q = q.T
        values = gain * q.reshape(weight.shape)
    elif scheme == "uniform":
        bound = gain / math.sqrt(fan_in)
        values = (2.0 * torch.rand(weight.shape, **kw) - 1.0) * bound
    else:
        sd = {
            "glorot": math.sqrt(2.0 / (fan_in + fan_out)),
            "lecun": math.sqrt(1.0 / fan_in),
            "he": math.sqrt(2.0 / fan_in),
            "gaussian": std,
        }[scheme]
        values = torch.randn(weight.shape, **kw) * (gain * sd)
    with torch.no_grad():
        weight.copy_(values)
    return weight


def _setup(generator: object, dtype: object) -> tuple[torch.device, torch.dtype]:
    check_generator(generator)
    return torch.device(generator.device), check_dtype(dtype)


# --------------------------------------------------------------------------- linear model

class LinearModel(nn.Module):
    """Linear model :math:`g_{\\mathbf w}(\\mathbf x) = \\mathbf W\\mathbf x\\ (+\\mathbf b)`.

    Parameters
    ----------
    d : int
        Input dimension.
    out : int, default 1
        Output dimension; the output is always ``(n, out)``.
    generator : torch.Generator
        Source of the initial weights (the model lives on its device).
    bias : bool, default False
        Add a bias, initialised at zero.
    init : str, default "lecun"
        A scheme of :func:`init_weight_`; ``"lecun"`` gives :math:`\\mathcal N(0, 1/d)`
        entries, ``"gaussian"`` with ``std=nu`` the :math:`\\mathcal N(0, \\nu^2)` weights of
        Theorem 6.1 of [L] (:math:`\\nu = 1` or :math:`\\nu = O(1/\\sqrt d)`).
    std : float, optional
        Passed to :func:`init_weight_` (only for ``init="gaussian"``).
    dtype : torch.dtype, default torch.float64

    Attributes
    ----------
    linear : torch.nn.Linear
        The layer; ``weight`` is a shortcut for ``linear.weight`` of shape ``(out, d)``.

    References
    ----------
    Sankararaman et al. [L], eq. (4), Theorems 5.1, 5.2 and 6.1; Section 2 (logistic regression
    on orthogonal data).

    Examples
    --------
    >>> import torch
    >>> from helpers.models import LinearModel
    >>> from helpers.rng import make_generator
    >>> model = LinearModel(4, generator=make_generator(0))
    >>> model(torch.ones(3, 4, dtype=torch.float64)).shape
    torch.Size([3, 1])
    """

    def __init__(self, d_in: int, d_out: int = 1, *, generator: torch.Generator, bias: bool = False,
                 init: str = "lecun", std: float | None = None,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        d_in = check_int(d_in, "d_in", minimum=1)
        d_out = check_int(d_out, "d_out", minimum=1)
        bias = _check_bool(bias, "bias")
        device, dtype = _setup(generator, dtype)
        self.d_in, self.d_out = d_in, d_out
        self.linear = _new_linear(d_in, d_out, bias, dtype, device)
        init_weight_(self.linear.weight, init, generator=generator, std=std)

    @property
    def weight(self) -> torch.Tensor:
        """The weight matrix, shape ``(out, d)``."""
        return self.linear.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x`` of shape ``(n, d)`` to ``(n, out)``."""
        x = _check_input(x, self, 2, self.d_in)
        return self.linear(x)


# --------------------------------------------------------------------------- MLP

@dataclass(frozen=True)
class ForwardTrace:
    """Layer-by-layer record of an :class:`MLP` forward pass (``beta = depth``).

    Attributes
    ----------
    inputs : list of torch.Tensor
        ``inputs[p]`` is the input :math:`\\mathbf a_{p-1}` of weight matrix
        :math:`\\mathbf W_p`, ``p = 0..beta`` (``inputs[0]`` is ``x``; ``inputs[1:]`` are the
        hidden activations :math:`\\sigma(\\mathbf z_0), \\dots, \\sigma(\\mathbf z_{\\beta-1})`),
        each ``(n, fan_in_p)``.
    preactivations : list of torch.Tensor
        ``preactivations[p]`` is :math:`\\mathbf z_p = \\mathbf W_p\\mathbf a_{p-1}`
        (:math:`+\\mathbf b_p`), each ``(n, fan_out_p)``.
    output : torch.Tensor
        The network output, ``(n, d_out)``.
    """

    inputs: list[torch.Tensor]
    preactivations: list[torch.Tensor]
    output: torch.Tensor


class MLP(nn.Module):
    """Fully connected net :math:`f(\\mathbf x) = s\\,\\phi_{out}(\\mathbf W_\\beta\\sigma(\\cdots
    \\sigma(\\mathbf W_0\\mathbf x)))` with ``depth`` hidden layers of width ``width``.

    ``linears[0]`` maps ``d_in -> width``, ``linears[1..depth-1]`` map ``width -> width`` and
    ``linears[depth]`` maps ``width -> d_out``: ``depth + 1`` weight matrices
    :math:`\\mathbf W_0, \\dots, \\mathbf W_\\beta` with :math:`\\beta` = ``depth``, the indexing
    of Sankararaman et al. [L] eq. (5). :math:`\\phi_{out}` is the identity, or
    :math:`\\sigma` when ``activate_output=True`` (eq. (5) applies :math:`\\sigma` to the output
    too); :math:`s` is ``output_scale`` (the :math:`\\gamma = 1/\\sqrt{2\\beta'}` of [I] eq. (4),
    where :math:`\\beta'` = ``depth + 1`` counts the matrices).

    Parameters
    ----------
    d_in, width, depth, d_out : int
        Input dimension, hidden width, number of hidden layers (>= 1), output dimension.
    generator : torch.Generator
        Source of all initial weights, drawn layer by layer from ``linears[0]`` on.
    activation : str, default "relu"
        One of :data:`helpers.activations.NAMES`.
    init : str, default "he"
        Scheme of :func:`init_weight_` used for every layer. To follow Strategy 4.1 of [I]
        exactly (first layer :math:`\\mathcal N(0, 1/d)` whatever :math:`\\kappa`), re-draw
        ``linears[0].weight`` with ``init_weight_(..., "lecun", generator=...)``.
    gain : float, default 1.0
        Passed to :func:`init_weight_`.
    std : float, optional
        Passed to :func:`init_weight_` (``init="gaussian"`` only).
    bias : bool, default False
        Biases in every layer, initialised at 0 ([L] Appendix A).
    output_scale : float, default 1.0
        The factor :math:`s`.
    activate_output : bool, default False
        Apply the activation to the output layer as well.
    dtype : torch.dtype, default torch.float64

    Attributes
    ----------
    linears : torch.nn.ModuleList
        The ``depth + 1`` ``nn.Linear`` layers in forward order.
    activation, activation_derivative : callable
        :math:`\\sigma` and :math:`\\sigma'` (elementwise); ``activation_name`` is its name.

    References
    ----------
    Sankararaman et al. [L] eq. (5), eq. (15) (layer-wise gradient inner products), Appendix A;
    [I] Strategy 4.1, eq. (4) and Theorem 6.1; Allen-Zhu, Li & Song Lemma 7.1 (He-initialised
    ReLU layers preserve the norm).

    Examples
    --------
    >>> import torch
    >>> from helpers.models import MLP
    >>> from helpers.rng import make_generator
    >>> net = MLP(5, 8, 3, 2, generator=make_generator(0), activation="tanh", init="lecun")
    >>> len(net.linears), net(torch.ones(4, 5, dtype=torch.float64)).shape
    (4, torch.Size([4, 2]))
    >>> trace = net.forward_with_preactivations(torch.ones(4, 5, dtype=torch.float64))
    >>> [tuple(a.shape) for a in trace.inputs]
    [(4, 5), (4, 8), (4, 8), (4, 8)]
    """

    def __init__(self, d_in: int, width: int, depth: int, d_out: int, *,
                 generator: torch.Generator, activation: str = "relu", init: str = "he",
                 gain: float = 1.0, std: float | None = None, bias: bool = False,
                 output_scale: float = 1.0, activate_output: bool = False,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        d_in = check_int(d_in, "d_in", minimum=1)
        width = check_int(width, "width", minimum=1)
        depth = check_int(depth, "depth", minimum=1)
        d_out = check_int(d_out, "d_out", minimum=1)
        activation = _activations.get(activation).name
        init = check_choice(init, "init", INIT_SCHEMES)
        bias = _check_bool(bias, "bias")
        self.output_scale = check_real(output_scale, "output_scale")
        self.activate_output = _check_bool(activate_output, "activate_output")
        device, dtype = _setup(generator, dtype)
        self.d_in, self.width, self.depth, self.d_out = d_in, width, depth, d_out
        self.activation_name = activation
        act = _activations.get(activation)
        self.activation, self.activation_derivative = act.fn, act.derivative
        sizes = [d_in] + [width] * depth + [d_out]
        self.linears = nn.ModuleList(
            _new_linear(a, b, bias, dtype, device) for a, b in zip(sizes[:-1], sizes[1:])
        )
        for layer in self.linears:
            init_weight_(layer.weight, init, generator=generator, gain=gain, std=std)

    def forward_with_preactivations(self, x: torch.Tensor) -> ForwardTrace:
        """Forward pass keeping every layer input :math:`\\mathbf a_{p-1}` and pre-activation
        :math:`\\mathbf z_p` (see :class:`ForwardTrace`); ``x`` has shape ``(n, d_in)``."""
        x = _check_input(x, self, 2, self.d_in)
        inputs, pre = [], []
        a = x
        for p, layer in enumerate(self.linears):
            inputs.append(a)
            z = layer(a)
            pre.append(z)
            if p < self.depth:
                a = self.activation(z)
        z = pre[-1]
        out = self.activation(z) if self.activate_output else z
        if self.output_scale != 1.0:
            out = self.output_scale * out
        return ForwardTrace(inputs, pre, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x`` of shape ``(n, d_in)`` to ``(n, d_out)``."""
        return self.forward_with_preactivations(x).output

    def backward_signals(self, trace: ForwardTrace, output_grad: torch.Tensor
                         ) -> list[torch.Tensor]:
        """Back-propagated signals :math:`\\delta_p = \\partial\\ell/\\partial\\mathbf z_p`.

        Given :math:`\\mathbf u_i = \\partial\\ell_i/\\partial f(\\mathbf x_i)` (``output_grad``,
        shape ``(n, d_out)``), returns ``[delta_0, ..., delta_beta]`` with
        :math:`\\boldsymbol\\delta_\\beta = s\\,\\phi_{out}'(\\mathbf z_\\beta)\\odot\\mathbf u`
        and :math:`\\boldsymbol\\delta_p = \\sigma'(\\mathbf z_p)\\odot\\mathbf W_{p+1}^\\top
        \\boldsymbol\\delta_{p+1}`, each ``(n, fan_out_p)``. Per example,
        :math:`\\nabla_{\\mathbf W_p}\\ell_i = \\boldsymbol\\delta_p(i)\\,\\mathbf a_{p-1}(i)^\\top`
        and :math:`\\nabla_{\\mathbf b_p}\\ell_i = \\boldsymbol\\delta_p(i)`, so
        :math:`\\langle\\nabla\\ell_i, \\nabla\\ell_j\\rangle = \\sum_p
        \\langle\\boldsymbol\\delta_p(i), \\boldsymbol\\delta_p(j)\\rangle\\,(\\langle\\mathbf
        a_{p-1}(i), \\mathbf a_{p-1}(j)\\rangle + [\\text{bias}])` ([L] eq. (15)). Pass
        ``output_grad = ones`` for the gradients of the output :math:`f` itself.
        """
        if not isinstance(trace, ForwardTrace):
            raise TypeError(f"trace must be a ForwardTrace from forward_with_preactivations, got"
                            f" {_describe(trace)}")
        n = trace.output.shape[0]
        output_grad = check_tensor(output_grad, "output_grad", shape=(n, self.d_out),
                                   floating=True, finite=False)
        z = trace.preactivations
        delta = output_grad * self.output_scale
        if self.activate_output:
            delta = delta * self.activation_derivative(z[-1])
        deltas = [delta]
        for p in range(self.depth - 1, -1, -1):
            delta = (delta @ self.linears[p + 1].weight) * self.activation_derivative(z[p])
            deltas.append(delta)
        return deltas[::-1]


# --------------------------------------------------------------------------- two-layer nets

class TwoLayerNet(nn.Module):
    """One hidden layer, :math:`f(\\mathbf x) = \\mathbf a\\,\\phi(\\mathbf W\\mathbf x)`, with
    :math:`\\mathbf W` trained and the output layer :math:`\\mathbf a` frozen.

    ``variant="li-liang"`` (Li & Liang, Section 3 and (A3)):
    :math:`f_i(\\mathbf x) = \\sum_{r=1}^m a_{i,r}\\,\\mathrm{ReLU}(\\langle\\mathbf w_r,
    \\mathbf x\\rangle)`, :math:`i \\in [k]`, with :math:`\\mathbf w_r^{(0)} \\sim
    \\mathcal N(0, \\sigma^2 I)`, :math:`\\sigma = 1/\\sqrt m`, and :math:`a_{i,r} \\sim
    \\mathcal N(0, 1)` (times ``output_scale``). Trained with cross-entropy and SGD at rate
    :math:`\\eta \\propto 1/m` (Theorem 4.1; Section 7: :math:`10/m` and :math:`400/m`).

    ``variant="oymak"`` (Oymak & Soltanolkotabi eq. (1.1), Theorem 2.1 and its footnote 1):
    :math:`f(\\mathbf x) = \\mathbf v^\\top\\phi(\\mathbf W\\mathbf x)` with
    :math:`\\mathbf W_0` i.i.d. :math:`\\mathcal N(0, 1)` and :math:`\\mathbf v` deterministic:
    the first :math:`\\lfloor m/2\\rfloor` entries :math:`+c/\\sqrt m`, the next
    :math:`\\lfloor m/2\\rfloor` entries :math:`-c/\\sqrt m`, and a zero last entry when
    :math:`m` is odd, :math:`c` = ``output_scale``. The paper's choice is
    :math:`c = \\|\\mathbf y\\|_2/\\sqrt n` (entries :math:`\\pm\\|\\mathbf y\\|/\\sqrt{kn}`, with
    the paper's :math:`k` our ``width``). Single output only. GD step of Theorem 2.1
    :math:`\\eta = n\\bar\\eta/(2B^2\\|\\mathbf y\\|^2\\|\\mathbf X\\|^2)` on the *summed*
    loss (2.1) (Theorem 2.3, ReLU: :math:`n\\bar\\eta/(3\\|\\mathbf y\\|^2\\|\\mathbf X\\|^2)`),
    independent of the width.

    Parameters
    ----------
    d_in : int
        Input dimension.
    width : int
        Hidden width (Li & Liang's :math:`m`, Oymak & Soltanolkotabi's :math:`k`).
    generator : torch.Generator
        Draws :math:`\\mathbf W` first, then (li-liang) :math:`\\mathbf a`.
    variant : {"li-liang", "oymak"}
    d_out : int, default 1
        Number of outputs :math:`k` (classes) for ``"li-liang"``; must be 1 for ``"oymak"``.
    activation : str, default "relu"
        A name of :data:`helpers.activations.NAMES` (Li & Liang use ReLU; Oymak & Soltanolkotabi
        use ReLU, softplus and, in Lemma 6.4, the quadratic :math:`z^2/2`).
    output_scale : float, default 1.0
        Multiplier of the frozen output layer, see above.
    dtype : torch.dtype, default torch.float64

    Attributes
    ----------
    hidden_weights : torch.nn.Parameter, shape (width, d_in)
        The trained :math:`\\mathbf W` (rows :math:`\\mathbf w_r`).
    output_weights : torch.Tensor, shape (d_out, width)
        The frozen output layer, a buffer (not a parameter: never trained, never in
        ``model.parameters()``).
    activation, activation_derivative : callable

    Examples
    --------
    >>> import torch
    >>> from helpers.models import TwoLayerNet
    >>> from helpers.rng import make_generator
    >>> net = TwoLayerNet(3, 6, generator=make_generator(0), variant="oymak",
    ...                   activation="softplus")
    >>> net.output_weights * 6 ** 0.5
    tensor([[ 1.,  1.,  1., -1., -1., -1.]], dtype=torch.float64)
    >>> ll = TwoLayerNet(3, 6, generator=make_generator(0), variant="li-liang", d_out=4)
    >>> ll(torch.ones(2, 3, dtype=torch.float64)).shape, [n for n, _ in ll.named_parameters()]
    (torch.Size([2, 4]), ['hidden_weights'])
    """

    def __init__(self, d_in: int, width: int, *, generator: torch.Generator, variant: str,
                 d_out: int = 1, activation: str = "relu", output_scale: float = 1.0,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        d_in = check_int(d_in, "d_in", minimum=1)
        width = check_int(width, "width", minimum=1)
        variant = check_choice(variant, "variant", VARIANTS)
        d_out = check_int(d_out, "d_out", minimum=1)
        if variant == "oymak" and d_out != 1:
            raise ValueError(f"d_out must be 1 for variant='oymak' (eq. (1.1) has a single"
                             f" output), got {d_out}")
        activation = _activations.get(activation).name
        output_scale = check_real(output_scale, "output_scale")
        device, dtype = _setup(generator, dtype)
        self.d_in, self.width, self.d_out, self.variant = d_in, width, d_out, variant
        self.activation_name = activation
        act = _activations.get(activation)
        self.activation, self.activation_derivative = act.fn, act.derivative
        w = torch.empty(width, d_in, dtype=dtype, device=device)
        if variant == "li-liang":
            init_weight_(w, "gaussian", generator=generator, std=1.0 / math.sqrt(width))
            a = torch.empty(d_out, width, dtype=dtype, device=device)
            init_weight_(a, "gaussian", generator=generator, std=1.0)
            a = a * output_scale
        else:
            init_weight_(w, "gaussian", generator=generator, std=1.0)
            half = width // 2
            signs = torch.zeros(width, dtype=dtype, device=device)
            signs[:half] = 1.0
            signs[half:2 * half] = -1.0
            a = (output_scale / math.sqrt(width) * signs).reshape(1, width)
        self.hidden_weights = nn.Parameter(w)
        self.register_buffer("output_weights", a)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x`` of shape ``(n, d_in)`` to ``(n, d_out)``."""
        x = _check_input(x, self, 2, self.d_in)
        return self.activation(x @ self.hidden_weights.T) @ self.output_weights.T


# --------------------------------------------------------------------------- deep ReLU net

# --------------------------------------------------------------------------- CNNs

def _bn(channels: int, on: bool, dtype: torch.dtype, device: torch.device) -> nn.Module:
    return nn.BatchNorm2d(channels, dtype=dtype, device=device) if on else nn.Identity()


def _check_image(x: object, model: nn.Module, channels: int) -> torch.Tensor:
    x = _check_input(x, model, 4, channels)
    if min(x.shape[2], x.shape[3]) < 8:
        raise ValueError(f"x must have spatial size at least 8 x 8, got shape {tuple(x.shape)}")
    return x


class SmallCNN(nn.Module):
    """A plain convolutional net: stem conv, ``depth`` 3x3 conv blocks, global pooling, linear.

    Block :math:`b`: :math:`\\mathbf y = \\mathrm{ReLU}(\\mathrm{BN}(\\mathrm{conv}_b(\\mathbf
    h)))` and :math:`\\mathbf h \\leftarrow \\mathbf h + \\mathbf y` with ``skip=True``,
    :math:`\\mathbf h \\leftarrow \\mathbf y` otherwise; the stem is
    :math:`\\mathrm{ReLU}(\\mathrm{conv}(\\mathbf x))` with ``width`` channels. Convs carry a bias
    exactly when batch norm is off (as in [L] Section 7). A CPU-sized stand-in for the
    CNN-:math:`\\beta`-:math:`\\ell` / WRN experiments of Sankararaman et al.

    Parameters
    ----------
    in_channels : int, default 3
    d_out : int, default 10
        Number of outputs (classes).
    generator : torch.Generator
    width : int, default 16
        Channels of every conv layer.
    depth : int, default 2
        Number of conv blocks after the stem (>= 1).
    batch_norm, skip : bool, default False
        Batch normalisation after each block conv; residual connection around each block.
    init : str, default "he"
        Scheme of :func:`init_weight_` for every conv and the classifier (biases start at 0).
    dtype : torch.dtype, default torch.float32

    Examples
    --------
    >>> import torch
    >>> from helpers.models import SmallCNN
    >>> from helpers.rng import make_generator
    >>> net = SmallCNN(generator=make_generator(0), width=4, depth=2, skip=True)
    >>> net(torch.zeros(2, 3, 8, 8)).shape
    torch.Size([2, 10])
    """

    def __init__(self, in_channels: int = 3, d_out: int = 10, *,
                 generator: torch.Generator, width: int = 16, depth: int = 2,
                 batch_norm: bool = False, skip: bool = False, init: str = "he",
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        in_channels = check_int(in_channels, "in_channels", minimum=1)
        d_out = check_int(d_out, "d_out", minimum=1)
        width = check_int(width, "width", minimum=1)
        depth = check_int(depth, "depth", minimum=1)
        self.batch_norm = _check_bool(batch_norm, "batch_norm")
        self.skip = _check_bool(skip, "skip")
        init = check_choice(init, "init", INIT_SCHEMES)
        device, dtype = _setup(generator, dtype)
        self.in_channels = in_channels
        bias = not batch_norm
        self.stem = _new_conv(in_channels, width, 3, 1, True, dtype, device)
        self.convs = nn.ModuleList(_new_conv(width, width, 3, 1, bias, dtype, device)
                                   for _ in range(depth))
        self.norms = nn.ModuleList(_bn(width, batch_norm, dtype, device) for _ in range(depth))
        self.classifier = _new_linear(width, d_out, True, dtype, device)
        for layer in [self.stem, *self.convs, self.classifier]:
            init_weight_(layer.weight, init, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images ``(n, in_channels, H, W)`` (H, W >= 8) to logits ``(n, d_out)``."""
        x = _check_image(x, self, self.in_channels)
        h = torch.relu(self.stem(x))
        for conv, norm in zip(self.convs, self.norms):
            y = torch.relu(norm(conv(h)))
            h = h + y if self.skip else y
        return self.classifier(h.mean(dim=(2, 3)))


class _WideBlock(nn.Module):
    """Pre-activation WRN block: BN-ReLU-conv3x3-BN-ReLU-conv3x3 (+ shortcut)."""

    def __init__(self, c_in: int, c_out: int, stride: int, batch_norm: bool, skip: bool,
                 dtype: torch.dtype, device: torch.device) -> None:
        super().__init__()
        bias = not batch_norm
        self.skip = skip
        self.bn1 = _bn(c_in, batch_norm, dtype, device)
        self.conv1 = _new_conv(c_in, c_out, 3, stride, bias, dtype, device)
        self.bn2 = _bn(c_out, batch_norm, dtype, device)
        self.conv2 = _new_conv(c_out, c_out, 3, 1, bias, dtype, device)
        self.equal = c_in == c_out and stride == 1
        self.shortcut = (_new_conv(c_in, c_out, 1, stride, bias, dtype, device)
                         if skip and not self.equal else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        o = torch.relu(self.bn1(x))
        y = self.conv2(torch.relu(self.bn2(self.conv1(o))))
        if not self.skip:
            return y
        return y + (x if self.shortcut is None else self.shortcut(o))


class WideResNet(nn.Module):
    """Wide ResNet WRN-``depth``-``width_factor`` (Zagoruyko & Komodakis 2016) with switches.

    As described in Appendix E of Sankararaman et al. [L]: a 3x3 conv with 16 channels, three
    groups of :math:`N = (\\text{depth} - 4)/6` pre-activation blocks (BN-ReLU-conv3x3-BN-ReLU-
    conv3x3) with :math:`16k, 32k, 64k` channels (:math:`k` = ``width_factor``; stride 2 at the
    start of groups 2 and 3; 1x1 projection shortcuts where the shape changes), then BN-ReLU,
    global average pooling and a linear classifier (softmax is left to the loss). No dropout
    ([L] Section 7 turns it off). ``batch_norm=False`` removes every BN and gives the convs
    biases; ``skip=False`` removes every shortcut (and projection conv). With both off this is
    the CNN-:math:`\\beta`-:math:`\\ell` of [I] Section 7.

    Parameters
    ----------
    depth : int, default 10
        :math:`6N + 4` with :math:`N \\ge 1` (10, 16, 22, 28, 40, ...).
    width_factor : int, default 1
    d_out : int, default 10
        Number of outputs (classes).
    generator : torch.Generator
    in_channels : int, default 3
    batch_norm, skip : bool, default True
    init : str, default "he"
        Scheme for every conv and the classifier (MSRA, as in [L] Section 7); biases start at 0.
    dtype : torch.dtype, default torch.float32

    References
    ----------
    Sankararaman et al. [L] Section 7 (Figures 3-5) and Appendix E; [I] Section 7 (Figures 2-4).

    Examples
    --------
    >>> import torch
    >>> from helpers.models import WideResNet, count_parameters
    >>> from helpers.rng import make_generator
    >>> net = WideResNet(10, 1, generator=make_generator(0))
    >>> net(torch.zeros(2, 3, 8, 8)).shape
    torch.Size([2, 10])
    >>> plain = WideResNet(10, 1, generator=make_generator(0), batch_norm=False, skip=False)
    >>> count_parameters(net) > count_parameters(plain)
    True
    """

    def __init__(self, depth: int = 10, width_factor: int = 1, d_out: int = 10, *,
                 generator: torch.Generator, in_channels: int = 3, batch_norm: bool = True,
                 skip: bool = True, init: str = "he", dtype: torch.dtype = torch.float32
                 ) -> None:
        super().__init__()
        depth = check_int(depth, "depth", minimum=10)
        if (depth - 4) % 6 != 0:
            raise ValueError(f"depth must be 6N + 4 with N >= 1 (10, 16, 22, 28, 40, ...), got"
                             f" {depth}")
        width_factor = check_int(width_factor, "width_factor", minimum=1)
        d_out = check_int(d_out, "d_out", minimum=1)
        in_channels = check_int(in_channels, "in_channels", minimum=1)
        self.batch_norm = _check_bool(batch_norm, "batch_norm")
        self.skip = _check_bool(skip, "skip")
        init = check_choice(init, "init", INIT_SCHEMES)
        device, dtype = _setup(generator, dtype)
        self.depth, self.width_factor, self.in_channels = depth, width_factor, in_channels
        n_blocks = (depth - 4) // 6
        widths = [16, 16 * width_factor, 32 * width_factor, 64 * width_factor]
        self.stem = _new_conv(in_channels, widths[0], 3, 1, not batch_norm, dtype, device)
        blocks = []
        for g in range(3):
            for b in range(n_blocks):
                c_in = widths[g] if b == 0 else widths[g + 1]
                stride = 2 if (b == 0 and g > 0) else 1
                blocks.append(_WideBlock(c_in, widths[g + 1], stride, batch_norm, skip, dtype,
                                         device))
        self.blocks = nn.Sequential(*blocks)
        self.bn = _bn(widths[3], batch_norm, dtype, device)
        self.classifier = _new_linear(widths[3], d_out, True, dtype, device)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                init_weight_(module.weight, init, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images ``(n, in_channels, H, W)`` (H, W >= 8) to logits ``(n, d_out)``."""
        x = _check_image(x, self, self.in_channels)
        h = torch.relu(self.bn(self.blocks(self.stem(x))))
        return self.classifier(h.mean(dim=(2, 3)))


# --------------------------------------------------------------------------- utilities

def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of scalar parameters of ``model`` (only those with ``requires_grad`` by default).

    Frozen layers stored as buffers (see the module notes) are never counted; with
    ``trainable_only=False``, parameters with ``requires_grad=False`` are counted too.

    Parameters
    ----------
    model : torch.nn.Module
    trainable_only : bool, default True

    Returns
    -------
    int

    Examples
    --------
    >>> from helpers.models import TwoLayerNet, count_parameters
    >>> from helpers.rng import make_generator
    >>> count_parameters(TwoLayerNet(10, 50, generator=make_generator(0), variant="li-liang"))
    500
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {_describe(model)}")
    trainable_only = _check_bool(trainable_only, "trainable_only")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
