"""``T.nnet``: sigmoid, softplus, relu, softmax, log_softmax, the cross-entropies, conv2d, and the
activations hard_sigmoid, ultra_fast_sigmoid, softsign, elu, selu."""
from ...lang.nnet import *  # noqa: F401,F403
from ...lang.nnet import (binary_crossentropy, categorical_crossentropy, log_softmax, relu,  # noqa: F401
                         sigmoid, softmax, softplus, hard_sigmoid, ultra_fast_sigmoid, softsign, elu, selu)
from ...lang.conv import conv2d  # noqa: F401
from . import conv  # noqa: F401
from ...lang.theano_like import crossentropy_softmax_1hot, sigmoid_binary_crossentropy  # noqa: F401
from . import bn  # noqa: F401
from ...lang.conv import conv2d_transpose  # noqa: F401
from . import abstract_conv  # noqa: F401
# Theano's softmax of a vector is a one-row matrix (its Softmax op padded vectors); T.softmax and
# pt.special.softmax keep the ndim (PyTensor's)
from ...lang.theano_like import nnet_log_softmax as log_softmax, nnet_softmax as softmax  # noqa: F401,E402
logsoftmax = log_softmax
from . import neighbours  # noqa: F401,E402
from .bn import batch_normalization  # noqa: F401,E402
from .neighbours import images2neibs, neibs2images  # noqa: F401,E402
from . import nnet, sigm  # noqa: F401,E402  (theano.tensor.nnet.nnet.softmax)
