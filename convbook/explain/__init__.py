"""Look inside a trained CNN: what it responds to, what it looks at, and whether to believe it.

The maps explain one *score* per image: the logit ``S_t`` of a target class ``t`` (by
default the class the model predicts) for images ``x: (N, C, H, W)`` (or one ``(C, H, W)``
image) in the model's input space, i.e. normalised as the model was trained.

* :mod:`~convbook.explain.gradients`: :func:`gradient` ``∂S_t/∂x`` and :func:`saliency`
  ``max_c |∂S_t/∂x_c|`` (Simonyan, Vedaldi and Zisserman 2013), :func:`input_x_gradient`
  ``Σ_c x_c ∂S_t/∂x_c``, :func:`grad_cam` ``ReLU(Σ_k α_k A^k)`` for the feature maps ``A``
  of one layer (Selvaraju et al. 2017); :func:`feature_maps`, one layer's activations, and
  :func:`unit_gradient`, the input gradient of one of its units.
* :mod:`~convbook.explain.perturbation`: :func:`occlusion`, how much the score drops when a
  window of the image is replaced by a baseline (Zeiler and Fergus 2014).
* :mod:`~convbook.explain.visualisation`: :func:`activation_maximisation`, an input that
  excites one channel, found by gradient ascent with random jitter and blurring (Olah,
  Mordvintsev and Schubert 2017).
* :mod:`~convbook.explain.sanity`: :func:`weight_layers`, :func:`randomised`,
  :func:`sanity_check` (:class:`SanityCheck`), :func:`spearman`: the model-randomisation test
  of Adebayo et al. (2018): a map that hardly changes when the weights are replaced by
  random ones cannot be explaining what the network learned.
* ``_common``: what they share (argument checks, target classes, capturing a layer's output,
  eval mode).

The model is never changed: it runs in eval mode (its own mode is restored afterwards),
gradients are taken with ``torch.autograd.grad`` with respect to the input only (no
``.grad`` is left on its parameters), hooks are removed, and randomisation works on a copy.
"""

from convbook.explain.gradients import (
    feature_maps,
    grad_cam,
    gradient,
    input_x_gradient,
    saliency,
    unit_gradient,
)
from convbook.explain.perturbation import occlusion
from convbook.explain.sanity import SanityCheck, randomised, sanity_check, spearman, weight_layers
from convbook.explain.visualisation import activation_maximisation

__all__ = [
    "SanityCheck",
    "activation_maximisation",
    "feature_maps",
    "grad_cam",
    "gradient",
    "input_x_gradient",
    "occlusion",
    "randomised",
    "saliency",
    "sanity_check",
    "spearman",
    "unit_gradient",
    "weight_layers",
]
