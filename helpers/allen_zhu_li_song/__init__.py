"""Part IV: a convergence theory for deep learning via over-parameterization (Allen-Zhu, Li & Song).

* the network -- :class:`DeepReLUNet` (Section 2), :func:`paper_inputs` (Assumption 2.1 and
  footnote 5), and the variants of the appendices: :class:`ResidualNet` (Appendix C) and
  :class:`ConvNet` with :func:`circular_patches` (Appendix B);
* the objects of the proofs -- :func:`forward` (states and sign patterns, Definition 2.2),
  perturbations of Section 8 (:func:`random_perturbation`, :func:`worst_case_perturbation`,
  :func:`sign_flips`), the backward maps of Definition 2.5 and Lemma 7.3
  (:func:`layer_product`, :func:`backward_matrix`, :func:`back_vectors`,
  :func:`residual_product`), the gradients of Fact 2.6 and their bounds (:func:`fake_gradient`,
  :func:`gradient_bounds`), the telescoping of Claim 11.2 (:func:`relu_switch_diagonal`,
  :func:`telescoping`), the NTK model of Section 4.2 (:func:`ntk_linearisation`,
  :func:`gradient_drift`).

The NTK Gram matrices of :class:`DeepReLUNet` and :class:`ResidualNet` are computed in closed
form by :func:`helpers.gradients.ntk_gram` (their ``closed_form_ntk`` methods).

Implementation modules (private): ``_network``, ``_deep_relu``.

Examples
--------
>>> from helpers import allen_zhu_li_song
>>> from helpers.gradients import ntk_gram
>>> from helpers.rng import make_generator
>>> gen = make_generator(0)
>>> net = allen_zhu_li_song.DeepReLUNet(4, 32, 2, 1, generator=gen)
>>> X = allen_zhu_li_song.paper_inputs(3, 4, 0.2, generator=gen)
>>> ntk_gram(net, X).shape                                 # closed form (Fact 2.6)
torch.Size([3, 3])
"""

from ._deep_relu import (
    ConvNet,
    ForwardState,
    GradientBounds,
    NTKComparison,
    ResidualNet,
    Telescoping,
    back_vectors,
    backward_matrix,
    circular_patches,
    fake_gradient,
    forward,
    gradient_bounds,
    gradient_drift,
    layer_product,
    ntk_linearisation,
    paper_inputs,
    random_perturbation,
    relu_switch_diagonal,
    residual_product,
    sign_flips,
    telescoping,
    worst_case_perturbation,
)
from ._network import DeepReLUNet

__all__ = [
    "DeepReLUNet",
    "ResidualNet",
    "ConvNet",
    "circular_patches",
    "paper_inputs",
    "ForwardState",
    "GradientBounds",
    "Telescoping",
    "NTKComparison",
    "forward",
    "random_perturbation",
    "worst_case_perturbation",
    "sign_flips",
    "layer_product",
    "backward_matrix",
    "back_vectors",
    "residual_product",
    "fake_gradient",
    "gradient_bounds",
    "relu_switch_diagonal",
    "telescoping",
    "ntk_linearisation",
    "gradient_drift",
]
