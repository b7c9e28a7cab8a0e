"""The GRU cell: one step of a gated recurrent unit, in PyTorch's and in Cho et al.'s form.

Cho et al., "Learning Phrase Representations using RNN Encoder-Decoder for Statistical Machine
Translation", EMNLP 2014, arXiv:1406.1078, section 2.3 (reset gate before the hidden matmul).
PyTorch and cuDNN apply it after the matmul (``torch.nn.GRU`` docs; Chung et al. 2014,
arXiv:1412.3555 compare gated units). Introduced in chapter 2, *The GRU cell*.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from grubook import _checks as checks
from grubook import fast as fastpath
from grubook.base import RecurrentCell

__all__ = ["GRUCell", "gru_step", "from_first_version"]


def gru_step(
    gi: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None, reset_after: bool = True
) -> tuple[Tensor, Tensor, Tensor]:
    """One GRU step from the precomputed input projection; returns ``(h_next, r, z)``.

    ``gi = x W_ih^T + b_ih`` has shape (B, 3H) in gate order (r, z, n); ``h`` is (B, H).
    With ``reset_after`` one fused matmul ``h W_hh^T`` serves all three gates; without it the
    candidate needs a second matmul on ``r * h``.
    """
    H = h.shape[-1]
    gi_r, gi_z, gi_n = gi.tensor_split(3, dim=-1)  # three (B, H) blocks, even for H = 0
    if reset_after:
        gh = torch.nn.functional.linear(h, weight_hh, bias_hh)  # (B, 3H)
        gh_r, gh_z, gh_n = gh.tensor_split(3, dim=-1)
        r = torch.sigmoid(gi_r + gh_r)
        z = torch.sigmoid(gi_z + gh_z)
        n = torch.tanh(gi_n + r * gh_n)
    else:
        b_rz, b_n = (None, None) if bias_hh is None else (bias_hh[: 2 * H], bias_hh[2 * H :])
        gh = torch.nn.functional.linear(h, weight_hh[: 2 * H], b_rz)  # (B, 2H)
        gh_r, gh_z = gh.tensor_split(2, dim=-1)
        r = torch.sigmoid(gi_r + gh_r)
        z = torch.sigmoid(gi_z + gh_z)
        n = torch.tanh(gi_n + torch.nn.functional.linear(r * h, weight_hh[2 * H :], b_n))
    h_next = (1 - z) * n + z * h  # = n + z * (h - n)
    return h_next, r, z


class GRUCell(RecurrentCell):
    r"""A gated recurrent unit cell: one step of the recurrence.

    With ``reset_after=True`` (the default, PyTorch's and cuDNN's form) it computes

    .. math::
        r &= \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}) \\
        z &= \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}) \\
        n &= \tanh\big(W_{in} x + b_{in} \\
          &\qquad {} + r \odot (W_{hn} h + b_{hn})\big) \\
        h' &= (1 - z) \odot n + z \odot h

    where :math:`x` is the input (B, I), :math:`h` the hidden state (B, H), :math:`r`, :math:`z`,
    :math:`n` the reset gate, update gate and candidate, :math:`\sigma` the logistic sigmoid and
    :math:`\odot` the elementwise product. With ``reset_after=False`` (Cho et al. 2014, the book's
    first version) the candidate is

    .. math::
        n &= \tanh\big(W_{in} x + b_{in} \\
          &\qquad {} + W_{hn} (r \odot h) + b_{hn}\big)

    Args:
        input_size: I, the number of features in the input.
        hidden_size: H, the number of features in the hidden state.
        bias: if ``False``, the cell has no ``bias_ih`` and ``bias_hh``. Default: ``True``.
        device: where to create the parameters. Default: PyTorch's default device.
        dtype: the parameters' dtype. Default: PyTorch's default dtype.
        reset_after: apply the reset gate after the hidden matmul (``True``, like ``nn.GRUCell``)
            or before it (``False``, Cho et al.). Keyword only. Default: ``True``.
        fast: which step runs, as for :class:`grubook.GRU`: ``True`` (C++ if it builds, else
            pure PyTorch), ``"cpp"``, ``"python"``, or ``False`` for the plain autograd step.
            Keyword only; also an attribute. Default: ``True``.

    Inputs: input, hx
        - **input** (B, I) or (I,) for one unbatched sample.
        - **hx** (B, H) or (H,): the hidden state :math:`h`. Default: zeros. Also accepted as
          ``hidden=``, its earlier name.

    Outputs: h'
        - **h'** (B, H) or (H,): the next hidden state.

    Attributes:
        - **weight_ih** (3H, I): rows in gate order ``(W_ir|W_iz|W_in)``.
        - **weight_hh** (3H, H): ``(W_hr|W_hz|W_hn)``.
        - **bias_ih**, **bias_hh** (3H,): ``(b_ir|b_iz|b_in)`` and ``(b_hr|b_hz|b_hn)``.

        All start from :math:`\mathcal{U}(-1/\sqrt{H}, 1/\sqrt{H})`, as in ``nn.GRUCell``:
        a ``state_dict`` moves between the two in both directions.

    .. note::
        The update gate weights the *old* state: :math:`z = 1` keeps :math:`h`, as in Cho et al.
        (2014, eq. 7). Chung et al. (2014, arXiv:1412.3555) and the first version write
        :math:`h' = (1 - z) h + z \tilde h`; the two are the same model with
        :math:`z \leftrightarrow 1 - z` (see :func:`from_first_version`).

    Example::

        >>> cell = GRUCell(4, 8)
        >>> h = cell(torch.randn(2, 4))          # (B, H) = (2, 8)
        >>> h = cell(torch.randn(2, 4), h)

    Introduced in chapter 2, *The GRU cell*.
    """

    torch_class = nn.GRUCell

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device=None,
        dtype=None,
        *,
        reset_after: bool = True,
        fast: bool | str = True,
    ) -> None:
        reset_after = checks.check_flag("GRUCell", "reset_after", reset_after)
        fast = fastpath.check_fast("GRUCell", fast)
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)
        self.reset_after = reset_after
        self.fast = fast

    def _cell(self, x: Tensor, h: Tensor) -> Tensor:
        p = self._parameters  # a dict lookup: the batch-1 stream is call-bound
        w_ih, w_hh, b_ih, b_hh = p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"]
        kind = fastpath.backend(getattr(self, "fast", True), x, h, w_hh)
        if kind == "cpp" and not fastpath.needs_grad(x, h, w_ih, w_hh, b_ih, b_hh):
            return fastpath.extension().cell_step(x, h, w_ih, w_hh, b_ih, b_hh, self.reset_after)
        gi = torch.nn.functional.linear(x, w_ih, b_ih)  # (B, 3H)
        if kind != "plain":  # a sequence of one step
            return fastpath.scan(kind, gi[None], h, w_hh, b_hh, None, False, self.reset_after)[1]
        h_next, _, _ = gru_step(gi, h, w_hh, b_hh, self.reset_after)
        return h_next

    def extra_repr(self) -> str:
        s = super().extra_repr() + ("" if self.reset_after else ", reset_after=False")
        return s + ("" if getattr(self, "fast", True) is True else f", fast={self.fast!r}")


@torch.no_grad()
def from_first_version(
    reset_gate: nn.Linear, update_gate: nn.Linear, candidate: nn.Linear
) -> GRUCell:
    r"""Convert the first version's three ``Linear(I + H, H)`` layers into an equal GRUCell.

    The first version computes, on the concatenation :math:`[x, h]`,

    .. math::
        r &= \sigma(W_r [x, h] + b_r) \\
        u &= \sigma(W_u [x, h] + b_u) \\
        \tilde h &= \tanh(W_c [x, r \odot h] + b_c) \\
        h' &= (1 - u) \odot h + u \odot \tilde h

    Splitting each :math:`W` column-wise into its input part (first I columns) and hidden part
    gives ``reset_after=False`` weights. Its update gate :math:`u` weights the *new* candidate,
    while PyTorch's :math:`z` weights the old state, so
    :math:`z = 1 - u = \sigma(-(W_u[x, h] + b_u))`: the update gate's weights and bias change
    sign. The hidden-side biases are zero.

    Args:
        reset_gate: the first version's ``nn.Linear(I + H, H)`` giving :math:`r`; a missing
            bias counts as zero (so for the other two).
        update_gate: its ``nn.Linear(I + H, H)`` giving :math:`u`.
        candidate: its ``nn.Linear(I + H, H)`` giving :math:`\tilde h`.

    Returns:
        A ``GRUCell(I, H, reset_after=False)`` whose output equals the first version's next hidden
        state (its first return value) for every input.

    Introduced in chapter 2, *The GRU cell*.
    """
    layers = (reset_gate, update_gate, candidate)
    if not all(isinstance(layer, nn.Linear) for layer in layers):
        raise checks.GRUbookTypeError(
            "from_first_version: expected three nn.Linear layers (reset, update, candidate)"
        )
    H = reset_gate.out_features
    I = reset_gate.in_features - H
    for layer in layers:
        if (layer.out_features, layer.in_features) != (H, I + H) or I < 1:
            raise checks.GRUbookValueError(
                f"from_first_version: expected three Linear(I + H, H) layers of one shape, got "
                f"{[(l.in_features, l.out_features) for l in layers]}"
            )
    ref = reset_gate.weight
    cell = GRUCell(I, H, reset_after=False, device=ref.device, dtype=ref.dtype)
    signs = (1.0, -1.0, 1.0)  # z = 1 - u flips the update gate
    for k, (layer, sign) in enumerate(zip(layers, signs, strict=True)):
        rows = slice(k * H, (k + 1) * H)
        cell.weight_ih[rows] = sign * layer.weight[:, :I]
        cell.weight_hh[rows] = sign * layer.weight[:, I:]
        cell.bias_ih[rows] = 0.0 if layer.bias is None else sign * layer.bias
        cell.bias_hh[rows] = 0.0
    return cell
