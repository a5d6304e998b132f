"""Part II: two-layer ReLU networks learned by SGD on structured data (Li & Liang).

* the data model -- :func:`mixture`, :class:`MixtureData`, :func:`mixture_geometry` (Section 3,
  (A1)-(A2)), the settings of Figures 1, 6 and 7 (:data:`LI_LIANG_SYNTHETIC`,
  :data:`LI_LIANG_FIG6_RADII`, :data:`LI_LIANG_FIG7_COMPONENTS`), the XOR example of Appendix C
  (:func:`xor_data`), the lift to the sphere (:func:`lift_to_sphere`) and caps of bounded
  diameter (:func:`caps`);
* the coupling argument -- :func:`relu_network` (eq. (1); the functional form of
  ``models.TwoLayerNet(variant="li-liang")``), :func:`pseudo_network`,
  :func:`error_coefficients`, :func:`loss_gradient`, :func:`pseudo_gradient`,
  :func:`activation_pattern`, :func:`pattern_change` (Lemma 5.1), :func:`relative_distance`;
* the NTK view -- :class:`LiLiangNet` (the network with the closed form of its tangent kernel,
  used by ``gradients.ntk_gram``) and :class:`PseudoNetwork` (the linearised network as a
  trainable module);
* error large => gradient large -- :func:`pattern_sum`, :func:`cancelling_triple` (Lemma A.2),
  :func:`worst_error_profile` (Lemma A.3), :func:`max_weighted_error`, :func:`gradient_norms`
  (Lemmas A.4, B.3); :func:`best_affine_l1`, :func:`best_convex_l1`, :func:`kinked_convex`
  (Lemmas A.5, B.5); :func:`descent_steps` (Lemma B.4), :func:`descent_inequality` (Lemma B.6);
* the update's structure -- :func:`update_spectrum`, :func:`stable_rank`, :func:`spectral_gap`
  (Figure 1 (d), Appendix D);
* the protocol -- :func:`train_widths` (the paper's SGD on several widths at once, a thin use of
  ``train.train``, with the coupling metrics recorded: :class:`WidthSweep`),
  :func:`train_on_mixture` (Section 7: data, then training; :class:`MixtureRun`) and
  :func:`time_to_accuracy` (Figures 4 and 5).

Implementation modules (private): ``_mixture``, ``_coupling``, ``_linearisation``,
``_geometry``, ``_convex``, ``_signal``, ``_descent``, ``_protocol``, ``_reach``.

Examples
--------
>>> from helpers import li_liang
>>> from helpers.rng import make_generator
>>> sample = li_liang.mixture(100, 20, 2, 2, generator=make_generator(0))
>>> tuple(sample.X.shape), sample.y.unique().tolist()
((100, 20), [0, 1])
"""

from ._convex import best_affine_l1, best_convex_l1, kinked_convex
from ._coupling import (
    WidthSweep,
    activation_pattern,
    error_coefficients,
    loss_gradient,
    pattern_change,
    pseudo_gradient,
    pseudo_network,
    relative_distance,
    relu_network,
    spectral_gap,
    stable_rank,
    train_widths,
    update_spectrum,
)
from ._descent import descent_inequality, descent_steps
from ._geometry import WorstProfile, cancelling_triple, pattern_sum, worst_error_profile
from ._linearisation import LiLiangNet, PseudoNetwork
from ._mixture import (
    LI_LIANG_FIG6_RADII,
    LI_LIANG_FIG7_COMPONENTS,
    LI_LIANG_SYNTHETIC,
    MixtureData,
    caps,
    lift_to_sphere,
    mixture,
    mixture_geometry,
    xor_data,
)
from ._protocol import MixtureRun, train_on_mixture
from ._reach import time_to_accuracy
from ._signal import gradient_norms, max_weighted_error

__all__ = [
    "MixtureData",
    "mixture",
    "mixture_geometry",
    "xor_data",
    "lift_to_sphere",
    "caps",
    "LI_LIANG_SYNTHETIC",
    "LI_LIANG_FIG6_RADII",
    "LI_LIANG_FIG7_COMPONENTS",
    "relu_network",
    "pseudo_network",
    "error_coefficients",
    "loss_gradient",
    "pseudo_gradient",
    "activation_pattern",
    "pattern_change",
    "relative_distance",
    "LiLiangNet",
    "PseudoNetwork",
    "pattern_sum",
    "cancelling_triple",
    "WorstProfile",
    "worst_error_profile",
    "max_weighted_error",
    "gradient_norms",
    "best_affine_l1",
    "best_convex_l1",
    "kinked_convex",
    "descent_steps",
    "descent_inequality",
    "update_spectrum",
    "stable_rank",
    "spectral_gap",
    "WidthSweep",
    "train_widths",
    "MixtureRun",
    "train_on_mixture",
    "time_to_accuracy",
]
