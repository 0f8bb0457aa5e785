"""BitNet b1.58 2B4T's architecture in PyTorch, small.

The same graph as Trit's reference forward (src/engine/model/forward.ts) and microsoft/BitNet
gpu/model.py: RMSNorm -> ternary q, k, v (GQA) -> NEOX RoPE (theta 500000) -> causal
attention -> attn_sub_norm -> ternary output projection -> residual; RMSNorm -> ternary gate
and up -> relu(gate)^2 * up -> ffn_sub_norm -> ternary down -> residual; final RMSNorm;
tied embedding head.

Every linear layer is a BitLinear. Training (quantisation-aware, straight-through
estimator): weights are quantised to {-1, 0, +1} x mean|W| (absmean, one scale per tensor)
and activations per token to int8 with scale 127 / max|x| (absmax), and gradients pass
through both roundings unchanged. `exact=True` runs the computation an inference engine
runs instead: integer codes, int8 activations, integer dot products, then
x weight scale / activation scale, all in float32, rounding half to even (torch.round).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


def activation_scale(x):
    """Per-token absmax scale, as bitnet.cpp: 127 / max(max|x|, 1e-5), in float32."""
    return 127.0 / x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)


def quantize_activations(x):
    s = activation_scale(x)
    return (x * s).round().clamp(-128, 127), s


def weight_scale(w):
    return w.abs().mean().clamp(min=1e-5)


def ternary_codes(w):
    return (w / weight_scale(w)).round().clamp(-1, 1)


class BitLinear(nn.Linear):
    def __init__(self, cols, rows):
        super().__init__(cols, rows, bias=False)

    def forward(self, x, exact=False):
        w = self.weight
        if exact:
            q, s = quantize_activations(x)
            # Integer dot products: exact in float32 while |sum| < 2^24 (cols x 128 is).
            dots = q @ ternary_codes(w).t()
            return dots * weight_scale(w) / s
        q, s = quantize_activations(x)
        xq = x + (q / s - x).detach()
        ws = weight_scale(w)
        wq = w + (ternary_codes(w) * ws - w).detach()
        return F.linear(xq, wq)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Config:
    def __init__(self, vocab, hidden, layers, heads, kv_heads, ffn, context, rope_theta=500000.0, eps=1e-5):
        self.vocab = vocab
        self.hidden = hidden
        self.layers = layers
        self.heads = heads
        self.kv_heads = kv_heads
        self.head_dim = hidden // heads
        self.ffn = ffn
        self.context = context
        self.rope_theta = rope_theta
        self.eps = eps

    def as_dict(self):
        """The constructor's arguments (head_dim follows from hidden and heads)."""
        return {k: v for k, v in self.__dict__.items() if k != "head_dim"}


def rope_tables(cfg, positions):
    """cos and sin per position and frequency, computed in float64 as Trit's reference does."""
    half = cfg.head_dim // 2
    inv = torch.tensor([cfg.rope_theta ** (-(2 * i) / cfg.head_dim) for i in range(half)], dtype=torch.float64)
    angles = torch.arange(positions, dtype=torch.float64)[:, None] * inv[None, :]
    return angles.cos().float(), angles.sin().float()


def apply_rope(x, cos, sin):
    """NEOX style: dimension i pairs with i + head_dim / 2. x: [batch, heads, T, head_dim]."""
    half = x.shape[-1] // 2
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h, kv = cfg.hidden, cfg.kv_heads * cfg.head_dim
        self.cfg = cfg
        self.attn_norm = RMSNorm(h, cfg.eps)
        self.wq = BitLinear(h, cfg.heads * cfg.head_dim)
        self.wk = BitLinear(h, kv)
        self.wv = BitLinear(h, kv)
        self.attn_sub_norm = RMSNorm(cfg.heads * cfg.head_dim, cfg.eps)
        self.wo = BitLinear(cfg.heads * cfg.head_dim, h)
        self.ffn_norm = RMSNorm(h, cfg.eps)
        self.w_gate = BitLinear(h, cfg.ffn)
        self.w_up = BitLinear(h, cfg.ffn)
        self.ffn_sub_norm = RMSNorm(cfg.ffn, cfg.eps)
        self.w_down = BitLinear(cfg.ffn, h)

    def forward(self, x, cos, sin, exact):
        c = self.cfg
        B, T, _ = x.shape
        xb = self.attn_norm(x)
        q = self.wq(xb, exact).view(B, T, c.heads, c.head_dim).transpose(1, 2)
        k = self.wk(xb, exact).view(B, T, c.kv_heads, c.head_dim).transpose(1, 2)
        v = self.wv(xb, exact).view(B, T, c.kv_heads, c.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        group = c.heads // c.kv_heads
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        scores = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(c.head_dim))
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)
        scores = scores.masked_fill(mask, float("-inf"))
        att = scores.softmax(-1) @ v
        att = att.transpose(1, 2).reshape(B, T, c.heads * c.head_dim)
        x = x + self.wo(self.attn_sub_norm(att), exact)
        xb = self.ffn_norm(x)
        g = F.relu(self.w_gate(xb, exact))
        hb = g * g * self.w_up(xb, exact)
        return x + self.w_down(self.ffn_sub_norm(hb), exact)


class BitNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab, cfg.hidden)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.norm = RMSNorm(cfg.hidden, cfg.eps)
        cos, sin = rope_tables(cfg, cfg.context)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)

    def forward(self, ids, exact=False, head_weight=None):
        """Logits [batch, T, vocab]. `head_weight` replaces the tied embedding (e.g. f16-rounded)."""
        T = ids.shape[1]
        emb = self.embed.weight if head_weight is None else head_weight
        x = F.embedding(ids, emb)
        cos, sin = self.cos[:T], self.sin[:T]
        for b in self.blocks:
            x = b(x, cos, sin, exact)
        return self.norm(x) @ emb.t()
