"""Part IV: a convergence theory for deep learning via over-parameterization (Allen-Zhu, Li & Song).

* the networks -- :class:`DeepReLUNet` (Section 2), :class:`ResidualNet` (Appendix C),
  :class:`ConvNet` with :func:`circular_patches` (Appendix B); their inputs
  :func:`paper_inputs` and :func:`input_pairs` (Assumption 2.1, footnote 5);
* the forward pass -- :func:`forward` with :class:`ForwardState` (states and sign patterns,
  Definitions 2.2, 8.1) and :func:`norm_profile` (hidden norms through depth, Lemma 7.1);
* perturbations (Section 8) -- :func:`random_perturbation`, :func:`worst_case_perturbation`,
  :func:`sign_flips`, the exact worst case :func:`max_sign_flips` and Claim 8.3's bound
  :func:`flip_count_bound`; Lemma 8.6's adversary :func:`adversarial_product_norm` with
  :func:`operator_norm`;
* backward maps and gradients -- :func:`masked_product`, :func:`layer_product` (Lemma 7.3),
  :func:`backward_matrix`, :func:`back_vectors` (Definition 2.5), :func:`fake_gradient`
  (Fact 2.6, Definition 9.1), :func:`gradient_bounds` with :class:`GradientBounds` (Lemma 9.3,
  Theorem 3), :func:`residual_product` ((C.1));
* the semi-smoothness of Section 11 -- :func:`relu_switch_diagonal`, :func:`telescoping` with
  :class:`Telescoping` (Proposition 11.3, Claim 11.2), :func:`gradient_step_remainder` with
  :class:`StepRemainder` (Theorem 4);
* the NTK model (Section 4.2, Theorem 5) -- :func:`ntk_linearisation` with
  :class:`NTKComparison`, :func:`gradient_drift`, :func:`kernel_step` with :class:`KernelStep`;
* training (Theorems 1, 2, 7, 8) -- :func:`kernel_gd` with :class:`KernelRun` ((S)GD on the
  paper's sum objective with the kernel's step size, through :func:`helpers.train.train`) and
  :func:`batch_sweep` (SGD with :math:`\\eta\\propto b`);
* the landscape figures (Figures 1-7) -- :func:`landscape_slice` with :class:`LandscapeSlice`,
  :func:`landscape_network` (:data:`LANDSCAPE_ARCHS`) and :func:`perturb_labels`;
* check records -- :func:`falsification_outside` (a falsification that keeps the violated
  hypothesis of its experiment).

The NTK Gram matrices of :class:`DeepReLUNet` and :class:`ResidualNet` are computed in closed
form by :func:`helpers.gradients.ntk_gram` (their ``closed_form_ntk`` methods).

Implementation modules (private): ``_network``, ``_inputs``, ``_forward``, ``_norms``,
``_perturbation``, ``_backward``, ``_telescoping``, ``_smoothness``, ``_ntk``,
``_intermediate``, ``_training``, ``_resnet``, ``_convnet``, ``_landscape``, ``_records``.

Examples
--------
>>> from helpers import allen_zhu_li_song
>>> from helpers.gradients import ntk_gram
>>> from helpers.rng import make_generator
>>> gen = make_generator(0)
>>> net = allen_zhu_li_song.DeepReLUNet(4, 32, 2, 1, generator=gen)   # d_in, width, depth, d_out
>>> X = allen_zhu_li_song.paper_inputs(3, 4, 0.2, generator=gen)
>>> ntk_gram(net, X).shape                                 # closed form (Fact 2.6)
torch.Size([3, 3])
"""

from ._backward import (
    GradientBounds,
    back_vectors,
    backward_matrix,
    fake_gradient,
    gradient_bounds,
    layer_product,
    masked_product,
)
from ._convnet import ConvNet, circular_patches
from ._forward import ForwardState, forward
from ._inputs import input_pairs, paper_inputs
from ._intermediate import adversarial_product_norm, operator_norm
from ._landscape import (
    LANDSCAPE_ARCHS,
    LandscapeSlice,
    landscape_network,
    landscape_slice,
    perturb_labels,
)
from ._network import DeepReLUNet
from ._norms import norm_profile
from ._ntk import KernelStep, NTKComparison, gradient_drift, kernel_step, ntk_linearisation
from ._perturbation import (
    flip_count_bound,
    max_sign_flips,
    random_perturbation,
    sign_flips,
    worst_case_perturbation,
)
from ._records import falsification_outside
from ._resnet import ResidualNet, residual_product
from ._smoothness import StepRemainder, gradient_step_remainder
from ._telescoping import Telescoping, relu_switch_diagonal, telescoping
from ._training import KernelRun, batch_sweep, kernel_gd

__all__ = [
    # networks and inputs
    "DeepReLUNet",
    "ResidualNet",
    "ConvNet",
    "circular_patches",
    "paper_inputs",
    "input_pairs",
    # forward pass
    "ForwardState",
    "forward",
    "norm_profile",
    # perturbations
    "random_perturbation",
    "worst_case_perturbation",
    "sign_flips",
    "max_sign_flips",
    "flip_count_bound",
    "operator_norm",
    "adversarial_product_norm",
    # backward maps and gradients
    "GradientBounds",
    "masked_product",
    "layer_product",
    "backward_matrix",
    "back_vectors",
    "fake_gradient",
    "gradient_bounds",
    "residual_product",
    # semi-smoothness
    "Telescoping",
    "relu_switch_diagonal",
    "telescoping",
    "StepRemainder",
    "gradient_step_remainder",
    # NTK
    "NTKComparison",
    "KernelStep",
    "ntk_linearisation",
    "gradient_drift",
    "kernel_step",
    # training
    "KernelRun",
    "kernel_gd",
    "batch_sweep",
    # landscape figures
    "LANDSCAPE_ARCHS",
    "LandscapeSlice",
    "landscape_slice",
    "landscape_network",
    "perturb_labels",
    # check records
    "falsification_outside",
]
