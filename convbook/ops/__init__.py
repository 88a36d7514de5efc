"""From-scratch convolution operations, each checked against ``torch.nn.functional``.

=====================  ====================================================
``corr2d``             single-channel cross-correlation, the loop version
``conv2d``             vectorized ``F.conv2d`` (im2col plus one matrix product)
``conv_transpose2d``   ``F.conv_transpose2d`` as a scatter-add (matmul plus fold)
``conv3d``             ``F.conv3d`` (im2col over three axes)
``kernel2matrix``      a cross-correlation written as a matrix
``channel_shuffle``    ShuffleNet's channel shuffle
=====================  ====================================================
"""

from convbook.ops.conv import conv2d
from convbook.ops.conv3d import conv3d
from convbook.ops.corr import corr2d
from convbook.ops.matrix import kernel2matrix
from convbook.ops.shuffle import channel_shuffle
from convbook.ops.transposed import conv_transpose2d

__all__ = ["conv2d", "corr2d"]
__all__ += ["channel_shuffle", "conv3d", "conv_transpose2d", "kernel2matrix"]
