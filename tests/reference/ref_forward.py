#!/usr/bin/env python3
"""ref_forward.py — an independent NumPy forward pass over a GGUF file, the
yardstick for hearth's own (src/engine/forward.c).

It shares no code with hearth or with tools/gguf_gen.py: its own GGUF
reader, its own dequantizers (written loop-for-loop after ggml's
dequantize_row_* functions, vectorized over blocks), and the math of
llama.cpp's graphs in float64:
  llama  RMSNorm, RoPE on adjacent pairs (GGUF llama weights come
         pre-permuted for it), grouped-query causal attention, SwiGLU,
         output.weight or the tied token_embd;
  qwen2  as llama plus q/k/v biases and NeoX RoPE (pairs i, i + n_rot/2);
  bert   token + type-0 + absolute position embeddings, post-LayerNorm
         layers with biases, GELU, bidirectional attention, then pooling
         (mean / CLS / last from bert.pooling_type) and L2 normalization.

Token ids come on the command line (--ids "1 2 3"), so no tokenizer is
needed. Output: --out FILE writes the logits of every position as raw
little-endian float32 rows (the format of `hearth run --dump-logits`);
for bert (and llama/qwen2 with --embed), the pooled and normalized
embedding (one row), or with --pooling none the hidden state of every
position. --compare FILE reads
hearth's dump (or the JSON lines of `hearth embed`) and prints each row's relative error, max|a - b| / max|b|,
and the worst; --max-rel-err E makes the exit status 1 above E.

--f16-kv rounds what hearth (and llama.cpp) keep in half precision — the
keys and values in the cache, the query as it meets them, the attention
probabilities as they meet the values — to see how much of a difference
that rounding explains. Off by default: the plain reference is the
yardstick.
"""
import argparse
import json
import struct
import sys

import numpy as np

# ---- GGUF reader ------------------------------------------------------------


class Reader:
    def __init__(self, buf):
        self.buf = buf
        self.pos = 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def string(self):
        n = self.take("<Q")
        s = bytes(self.buf[self.pos:self.pos + n]).decode("utf-8", errors="replace")
        self.pos += n
        return s


_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}


def _read_value(r, vtype):
    if vtype == 8:
        return r.string()
    if vtype == 9:
        etype, n = r.take("<I"), r.take("<Q")
        return [_read_value(r, etype) for _ in range(n)]
    return r.take(_SCALARS[vtype])


# type number: (name, block elements, block bytes)
GGML_TYPES = {0: ("f32", 1, 4), 1: ("f16", 1, 2), 2: ("q4_0", 32, 18), 3: ("q4_1", 32, 20),
              6: ("q5_0", 32, 22), 7: ("q5_1", 32, 24), 8: ("q8_0", 32, 34),
              10: ("q2_K", 256, 84), 11: ("q3_K", 256, 110), 12: ("q4_K", 256, 144),
              13: ("q5_K", 256, 176), 14: ("q6_K", 256, 210), 30: ("bf16", 1, 2)}


class GGUF:
    """Metadata as a dict; tensors as (type, ne, raw bytes) by name."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.buf = f.read()
        r = Reader(self.buf)
        if r.take("<4s") != b"GGUF":
            raise SystemExit("%s: not a GGUF file" % path)
        self.version = r.take("<I")
        if self.version not in (2, 3):
            raise SystemExit("%s: GGUF version %d" % (path, self.version))
        n_tensors, n_kv = r.take("<Q"), r.take("<Q")
        self.kv = {}
        for _ in range(n_kv):
            key = r.string()
            self.kv[key] = _read_value(r, r.take("<I"))
        infos = []
        for _ in range(n_tensors):
            name = r.string()
            nd = r.take("<I")
            ne = [r.take("<Q") for _ in range(nd)]
            infos.append((name, ne, r.take("<I"), r.take("<Q")))
        align = self.kv.get("general.alignment", 32)
        base = (r.pos + align - 1) // align * align
        self.tensors = {}
        for name, ne, t, off in infos:
            if t not in GGML_TYPES:
                raise SystemExit("tensor %s: type %d is not handled here" % (name, t))
            _, be, bb = GGML_TYPES[t]
            n = int(np.prod(ne))
            start = base + off
            self.tensors[name] = (t, ne, memoryview(self.buf)[start:start + n // be * bb])

    def has(self, name):
        return name in self.tensors

    def get(self, name):
        """The tensor as float64, shape (ne[n-1], ..., ne[0])."""
        t, ne, raw = self.tensors[name]
        x = DEQUANT[GGML_TYPES[t][0]](raw, int(np.prod(ne)))
        return x.reshape(list(reversed(ne))).astype(np.float64)

# ---- dequantization ---------------------------------------------------------
# Each takes the raw bytes and the element count and returns float32 values
# in order. Blocks are rows of a uint8 matrix; field offsets are the byte
# offsets of ggml's block structs.


def _blocks(raw, bb):
    return np.frombuffer(raw, np.uint8).reshape(-1, bb)


def _half(b, off):
    return b[:, off:off + 2].copy().view("<f2").astype(np.float32)[:, 0]


def dq_f32(raw, n):
    return np.frombuffer(raw, "<f4", n).astype(np.float32)


def dq_f16(raw, n):
    return np.frombuffer(raw, "<f2", n).astype(np.float32)


def dq_bf16(raw, n):
    return (np.frombuffer(raw, "<u2", n).astype(np.uint32) << 16).view(np.float32)


def dq_q8_0(raw, n):
    b = _blocks(raw, 34)
    return (_half(b, 0)[:, None] * b[:, 2:].view(np.int8)).reshape(-1)


def _low_high(qs):
    """ggml's 32-block nibbles: y[j] = qs[j] & 0xF, y[j + 16] = qs[j] >> 4."""
    return np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int32)


def _fifth_bits(qh_bytes):
    """ggml: xh_0 = ((qh >> (j + 0)) << 4) & 0x10, xh_1 = ((qh >> (j + 12))) & 0x10."""
    qh = qh_bytes.copy().view("<u4")[:, 0].astype(np.int64)
    j = np.arange(16)
    lo = ((qh[:, None] >> j) << 4) & 0x10
    hi = (qh[:, None] >> (j + 12)) & 0x10
    return np.concatenate([lo, hi], axis=1).astype(np.int32)


def dq_q4_0(raw, n):
    b = _blocks(raw, 18)
    return (_half(b, 0)[:, None] * (_low_high(b[:, 2:18]) - 8)).reshape(-1)


def dq_q4_1(raw, n):
    b = _blocks(raw, 20)
    return (_half(b, 0)[:, None] * _low_high(b[:, 4:20]) + _half(b, 2)[:, None]).reshape(-1)


def dq_q5_0(raw, n):
    b = _blocks(raw, 22)
    q = _low_high(b[:, 6:22]) | _fifth_bits(b[:, 2:6])
    return (_half(b, 0)[:, None] * (q - 16)).reshape(-1)


def dq_q5_1(raw, n):
    b = _blocks(raw, 24)
    q = _low_high(b[:, 8:24]) | _fifth_bits(b[:, 4:8])
    return (_half(b, 0)[:, None] * q + _half(b, 2)[:, None]).reshape(-1)


def dq_q2_K(raw, n):
    # block_q2_K: scales[16] @0, qs[64] @16, d @80, dmin @82
    b = _blocks(raw, 84)
    d, dmin = _half(b, 80), _half(b, 82)
    y = np.empty((b.shape[0], 256), np.float32)
    for half in range(2):                    # "for n in 0..QK_K step 128"
        q = b[:, 16 + 32 * half:16 + 32 * half + 32].astype(np.int32)
        for j in range(4):                   # shift = 2j
            for part in range(2):            # l in 0..15, then q[l + 16]
                s = b[:, 8 * half + 2 * j + part].astype(np.int32)
                dl = d * (s & 0xF)
                ml = dmin * (s >> 4)
                v = (q[:, 16 * part:16 * part + 16] >> (2 * j)) & 3
                at = 128 * half + 32 * j + 16 * part
                y[:, at:at + 16] = dl[:, None] * v - ml[:, None]
    return y.reshape(-1)


def _q3_K_scales(sc12):
    """ggml's aux/kmask shuffle of the 12 scale bytes into 16 signed ones."""
    aux = sc12.copy().view("<u4").astype(np.uint32)       # (n, 3)
    kmask1, kmask2 = np.uint32(0x03030303), np.uint32(0x0F0F0F0F)
    tmp = aux[:, 2]
    out = np.empty((aux.shape[0], 4), np.uint32)
    out[:, 2] = ((aux[:, 0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4)
    out[:, 3] = ((aux[:, 1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4)
    out[:, 0] = (aux[:, 0] & kmask2) | (((tmp >> 0) & kmask1) << 4)
    out[:, 1] = (aux[:, 1] & kmask2) | (((tmp >> 2) & kmask1) << 4)
    return out.astype("<u4").view(np.int8).astype(np.int32) - 32    # (n, 16)


def dq_q3_K(raw, n):
    # block_q3_K: hmask[32] @0, qs[64] @32, scales[12] @96, d @108
    b = _blocks(raw, 110)
    d = _half(b, 108)
    scales = _q3_K_scales(b[:, 96:108])
    hm = b[:, 0:32].astype(np.int32)
    y = np.empty((b.shape[0], 256), np.float32)
    m = 0                                    # bit index of hmask ("m <<= 1")
    for half in range(2):
        q = b[:, 32 + 32 * half:32 + 32 * half + 32].astype(np.int32)
        for j in range(4):
            for part in range(2):
                dl = d * scales[:, 8 * half + 2 * j + part]
                sl = slice(16 * part, 16 * part + 16)
                v = ((q[:, sl] >> (2 * j)) & 3) - np.where((hm[:, sl] >> m) & 1, 0, 4)
                at = 128 * half + 32 * j + 16 * part
                y[:, at:at + 16] = dl[:, None] * v
            m += 1
    return y.reshape(-1)


def _scale_min_k4(j, s):
    """ggml's get_scale_min_k4 on the 12 scale bytes (n, 12)."""
    s = s.astype(np.int32)
    if j < 4:
        return s[:, j] & 63, s[:, j + 4] & 63
    return ((s[:, j + 4] & 0xF) | ((s[:, j - 4] >> 6) << 4),
            (s[:, j + 4] >> 4) | ((s[:, j] >> 6) << 4))


def _dq_k4_k5(b, qs_off, qh_off):
    d, dmin = _half(b, 0), _half(b, 2)
    sc = b[:, 4:16]
    y = np.empty((b.shape[0], 256), np.float32)
    for c in range(4):                       # "for j in 0..QK_K step 64", is = 2c
        q = b[:, qs_off + 32 * c:qs_off + 32 * c + 32].astype(np.int32)
        for part in range(2):
            s, m = _scale_min_k4(2 * c + part, sc)
            v = (q >> (4 * part)) & 0xF
            if qh_off is not None:
                qh = b[:, qh_off:qh_off + 32].astype(np.int32)
                v = v + (((qh >> (2 * c + part)) & 1) << 4)
            at = 64 * c + 32 * part
            y[:, at:at + 32] = (d * s)[:, None] * v - (dmin * m)[:, None]
    return y.reshape(-1)


def dq_q4_K(raw, n):
    # block_q4_K: d @0, dmin @2, scales[12] @4, qs[128] @16
    return _dq_k4_k5(_blocks(raw, 144), 16, None)


def dq_q5_K(raw, n):
    # block_q5_K: d @0, dmin @2, scales[12] @4, qh[32] @16, qs[128] @48
    return _dq_k4_k5(_blocks(raw, 176), 48, 16)


def dq_q6_K(raw, n):
    # block_q6_K: ql[128] @0, qh[64] @128, scales[16] (int8) @192, d @208
    b = _blocks(raw, 210)
    d = _half(b, 208)
    sc = b[:, 192:208].view(np.int8).astype(np.int32)
    y = np.empty((b.shape[0], 256), np.float32)
    for half in range(2):
        ql = b[:, 64 * half:64 * half + 64].astype(np.int32)
        qh = b[:, 128 + 32 * half:128 + 32 * half + 32].astype(np.int32)
        q1 = ((ql[:, 0:32] & 0xF) | (((qh >> 0) & 3) << 4)) - 32
        q2 = ((ql[:, 32:64] & 0xF) | (((qh >> 2) & 3) << 4)) - 32
        q3 = ((ql[:, 0:32] >> 4) | (((qh >> 4) & 3) << 4)) - 32
        q4 = ((ql[:, 32:64] >> 4) | (((qh >> 6) & 3) << 4)) - 32
        for k, q in enumerate((q1, q2, q3, q4)):
            for part in range(2):            # is = l / 16
                s = sc[:, 8 * half + 2 * k + part]
                at = 128 * half + 32 * k + 16 * part
                y[:, at:at + 16] = (d * s)[:, None] * q[:, 16 * part:16 * part + 16]
    return y.reshape(-1)


DEQUANT = {"f32": dq_f32, "f16": dq_f16, "bf16": dq_bf16, "q8_0": dq_q8_0, "q4_0": dq_q4_0,
           "q4_1": dq_q4_1, "q5_0": dq_q5_0, "q5_1": dq_q5_1, "q2_K": dq_q2_K,
           "q3_K": dq_q3_K, "q4_K": dq_q4_K, "q5_K": dq_q5_K, "q6_K": dq_q6_K}

# ---- the math ---------------------------------------------------------------


def f16_round(x):
    return x.astype(np.float16).astype(np.float64)


def bf16_round(x):
    u = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    u = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16
    return u.astype(np.uint32).view(np.float32).astype(np.float64)


def _q8_blocks(x):
    """ggml's x86 quantize_row_q8_0/q8_1: blocks of 32, d = amax / 127,
    q = round-half-even(x * (127 / amax)) in float32. Returns the blocks'
    float d (unrounded) and q."""
    b = x.astype(np.float32).reshape(-1, 32)
    amax = np.abs(b).max(axis=1)
    d = amax / np.float32(127)
    mul = np.where(amax > 0, np.float32(127) / np.where(amax > 0, amax, 1), 0).astype(np.float32)
    return d, np.rint(b * mul[:, None])


def act_q8_0(x):
    d, q = _q8_blocks(x)
    return (q * f16_round(d)[:, None]).reshape(x.shape)


def act_q8_K(x):
    """ggml's quantize_row_q8_K: blocks of 256, the signed extreme maps to
    -127 (iscale = -127 / max), d = 1 / iscale kept as float."""
    b = x.astype(np.float32).reshape(-1, 256)
    mx = np.take_along_axis(b, np.abs(b).argmax(axis=1)[:, None], axis=1)[:, 0]
    iscale = np.where(mx != 0, np.float32(-127) / np.where(mx != 0, mx, 1), 0).astype(np.float32)
    q = np.minimum(np.rint(b * iscale[:, None]), 127)
    d = np.where(iscale != 0, np.float32(1) / np.where(iscale != 0, iscale, 1), 0).astype(np.float32)
    return (q * d[:, None].astype(np.float64)).reshape(x.shape)


# What llama.cpp's CPU backend turns a matmul input into, by weight type.
ACT_QUANT = {"f32": None, "f16": f16_round, "bf16": bf16_round, "q8_0": act_q8_0,
             "q4_0": act_q8_0, "q4_1": act_q8_0, "q5_0": act_q8_0, "q5_1": act_q8_0,
             "q2_K": act_q8_K, "q3_K": act_q8_K, "q4_K": act_q8_K, "q5_K": act_q8_K,
             "q6_K": act_q8_K}


def rms_norm(x, w, eps):
    return x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + eps) * w


def layer_norm(x, w, b, eps):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def softmax(s):
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def gelu_erf(x):
    from math import erf
    return 0.5 * x * (1 + np.vectorize(erf)(x / np.sqrt(2)))


def rope(x, pos, n_rot, base, scale, neox, factors):
    """x: (T, heads, head_dim). GGML rope: theta_i = pos * base^(-2i/n_rot),
    pairs (2i, 2i+1) in "normal" mode, (i, i + n_rot/2) in NeoX mode."""
    half = n_rot // 2
    inv = base ** (-2.0 * np.arange(half) / n_rot)
    if factors is not None:
        inv = inv / factors
    ang = (pos[:, None] * scale) * inv[None, :]          # (T, half)
    c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    y = x.copy()
    if neox:
        i0, i1 = np.arange(half), np.arange(half) + half
    else:
        i0, i1 = 2 * np.arange(half), 2 * np.arange(half) + 1
    a, b = x[..., i0], x[..., i1]
    y[..., i0] = a * c - b * s
    y[..., i1] = a * s + b * c
    return y


def attention(q, k, v, causal, f16_kv):
    """q (T, H, d), k/v (T, Hkv, d) -> (T, H*d)."""
    T, H, d = q.shape
    group = H // k.shape[1]
    if f16_kv:
        q, k, v = f16_round(q), f16_round(k), f16_round(v)
    k = np.repeat(k, group, axis=1)
    v = np.repeat(v, group, axis=1)
    s = np.einsum("thd,uhd->htu", q, k) / np.sqrt(d)
    if causal:
        s = s + np.triu(np.full((T, T), -np.inf), 1)[None]
    p = softmax(s)
    if f16_kv:
        p = f16_round(p)
    return np.einsum("htu,uhd->thd", p, v).reshape(T, H * d)


class Model:
    def __init__(self, g):
        self.g = g
        self.arch = g.kv["general.architecture"]
        a = self.arch
        kv = g.kv
        self.E = kv[a + ".embedding_length"]
        self.L = kv[a + ".block_count"]
        self.H = kv[a + ".attention.head_count"]
        self.Hkv = kv.get(a + ".attention.head_count_kv", self.H)
        self.hd = kv.get(a + ".attention.key_length", self.E // self.H)
        self.n_rot = kv.get(a + ".rope.dimension_count", self.hd)
        self.base = kv.get(a + ".rope.freq_base", 10000.0)
        scale = 1.0
        if kv.get(a + ".rope.scaling.type") == "linear":
            scale = 1.0 / kv.get(a + ".rope.scaling.factor", 1.0)
        self.rope_scale = scale
        self.factors = g.get("rope_freqs.weight") if g.has("rope_freqs.weight") else None
        if a == "bert":
            self.eps = kv.get(a + ".attention.layer_norm_epsilon", 1e-12)
        else:
            self.eps = kv.get(a + ".attention.layer_norm_rms_epsilon", 1e-5)
        self.neox = a == "qwen2"
        self.pooling = kv.get(a + ".pooling_type", 0)
        self.cache = {}
        self.act_quant = False

    def w(self, name):
        if name not in self.cache:
            self.cache[name] = self.g.get(name)
        return self.cache[name]

    def opt(self, name):
        return self.w(name) if self.g.has(name) else None

    def mm(self, x, name):
        """x @ W^T; with act_quant, x first rounded as llama.cpp's CPU
        backend rounds it for W's type (hearth does the same)."""
        tname = GGML_TYPES[self.g.tensors[name][0]][0]
        if not self.act_quant or ACT_QUANT[tname] is None:
            return x @ self.w(name).T
        y = ACT_QUANT[tname](x) @ self.w(name).T
        if tname in ("q4_1", "q5_1"):
            # Their "+ m" term meets Q8_1's s = f16(d * sum q), not the sum
            # of the rounded values: add the difference, block by block.
            d, q = _q8_blocks(x)
            qsum = q.sum(axis=1)
            s = f16_round(d * qsum.astype(np.float32)) - f16_round(d) * qsum
            y = y + s.reshape(x.shape[0], -1) @ self.block_mins(name).T
        return y

    def block_mins(self, name):
        """The m of every block of a q4_1 / q5_1 weight, (rows, cols / 32)."""
        t, ne, raw = self.g.tensors[name]
        bb = GGML_TYPES[t][2]
        m = _half(_blocks(raw, bb), 2)
        return m.reshape(ne[1], ne[0] // 32).astype(np.float64)

    def decoder(self, ids, f16_kv, hidden=False):
        T = len(ids)
        pos = np.arange(T, dtype=np.float64)
        x = self.w("token_embd.weight")[ids]
        for i in range(self.L):
            p = "blk.%d." % i
            h = rms_norm(x, self.w(p + "attn_norm.weight"), self.eps)
            q = self.mm(h, p + "attn_q.weight")
            k = self.mm(h, p + "attn_k.weight")
            v = self.mm(h, p + "attn_v.weight")
            for t, name in ((q, "attn_q.bias"), (k, "attn_k.bias"), (v, "attn_v.bias")):
                b = self.opt(p + name)
                if b is not None:
                    t += b
            q = rope(q.reshape(T, self.H, self.hd), pos, self.n_rot, self.base,
                     self.rope_scale, self.neox, self.factors)
            k = rope(k.reshape(T, self.Hkv, self.hd), pos, self.n_rot, self.base,
                     self.rope_scale, self.neox, self.factors)
            v = v.reshape(T, self.Hkv, self.hd)
            x = x + self.mm(attention(q, k, v, True, f16_kv), p + "attn_output.weight")
            h = rms_norm(x, self.w(p + "ffn_norm.weight"), self.eps)
            gate = self.mm(h, p + "ffn_gate.weight")
            up = self.mm(h, p + "ffn_up.weight")
            x = x + self.mm(gate / (1 + np.exp(-gate)) * up, p + "ffn_down.weight")
        x = rms_norm(x, self.w("output_norm.weight"), self.eps)
        if hidden:
            return x
        return self.mm(x, "output.weight" if self.g.has("output.weight") else "token_embd.weight")

    def bert(self, ids, f16_kv, gelu, pooling):
        T = len(ids)
        x = (self.w("token_embd.weight")[ids] + self.w("token_types.weight")[0]
             + self.w("position_embd.weight")[:T])
        x = layer_norm(x, self.w("token_embd_norm.weight"), self.w("token_embd_norm.bias"), self.eps)
        for i in range(self.L):
            p = "blk.%d." % i
            q = self.mm(x, p + "attn_q.weight") + self.w(p + "attn_q.bias")
            k = self.mm(x, p + "attn_k.weight") + self.w(p + "attn_k.bias")
            v = self.mm(x, p + "attn_v.weight") + self.w(p + "attn_v.bias")
            a = attention(q.reshape(T, self.H, self.hd), k.reshape(T, self.Hkv, self.hd),
                          v.reshape(T, self.Hkv, self.hd), False, f16_kv)
            a = self.mm(a, p + "attn_output.weight") + self.w(p + "attn_output.bias")
            x = layer_norm(a + x, self.w(p + "attn_output_norm.weight"),
                           self.w(p + "attn_output_norm.bias"), self.eps)
            f = gelu(self.mm(x, p + "ffn_up.weight") + self.w(p + "ffn_up.bias"))
            f = self.mm(f, p + "ffn_down.weight") + self.w(p + "ffn_down.bias")
            x = layer_norm(f + x, self.w(p + "layer_output_norm.weight"),
                           self.w(p + "layer_output_norm.bias"), self.eps)
        return pool(x, pooling)


def pool(x, pooling):
    """Rows of hidden states -> one L2-normalized row (1 mean, 2 first,
    3 last), or every row unchanged (0)."""
    if pooling == 0:
        return x
    pooled = {1: lambda: x.mean(axis=0), 2: lambda: x[0], 3: lambda: x[-1]}[pooling]()
    return (pooled / max(np.linalg.norm(pooled), 1e-30))[None, :]

# ---- command line -------------------------------------------------------------


def rel_errors(mine, theirs):
    """Per row: max|theirs - mine| / max|mine|."""
    return np.abs(theirs - mine).max(axis=1) / np.maximum(np.abs(mine).max(axis=1), 1e-30)


def read_theirs(path):
    """hearth's rows: raw float32 (--dump-logits) or `hearth embed`'s JSON
    lines."""
    with open(path, "rb") as f:
        head = f.read(1)
    if head == b"[":
        with open(path) as f:
            return np.array([v for line in f if line.strip() for v in json.loads(line)], np.float32)
    return np.fromfile(path, "<f4")


def summary(rows, theirs):
    errs = rel_errors(rows.astype(np.float64), theirs)
    return {"rows": len(errs), "max_rel_err": float(errs.max()), "min_rel_err": float(errs.min()),
            "mean_rel_err": float(errs.mean()),
            "argmax_agree": float((rows.argmax(axis=1) == theirs.argmax(axis=1)).mean()),
            "per_row": [float(e) for e in errs]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-m", "--model", required=True)
    ap.add_argument("--ids", required=True, help='token ids: "1 2 3" or "1,2,3"')
    ap.add_argument("--out", help="write float32 rows here")
    ap.add_argument("--compare", help="hearth's --dump-logits file (or `hearth embed` output) to compare with")
    ap.add_argument("--max-rel-err", type=float, help="exit 1 if any row's error is above this")
    ap.add_argument("--f16-kv", action="store_true", help="round K, V, Q and probabilities to f16 as hearth does")
    ap.add_argument("--act-quant", action="store_true",
                    help="quantize each matmul input as llama.cpp and hearth do (Q8_0, Q8_1, Q8_K, F16, BF16)")
    ap.add_argument("--emulated-too", action="store_true",
                    help="with --compare --json: also compare the run with --f16-kv --act-quant "
                    "(bert: --act-quant only)")
    ap.add_argument("--rope", choices=["auto", "normal", "neox"], default="auto",
                    help="override the architecture's RoPE style (to see a wrong one caught)")
    ap.add_argument("--gelu", choices=["erf", "tanh"], default="erf",
                    help="bert: erf as BERT was trained (and hearth does); llama.cpp's ggml_gelu is tanh")
    ap.add_argument("--pooling", choices=["auto", "none", "mean", "cls", "last"], default="auto")
    ap.add_argument("--embed", action="store_true",
                    help="llama/qwen2: the final hidden states (after output_norm) instead of logits, "
                         "pooled (auto: {arch}.pooling_type, else last) and L2-normalized")
    ap.add_argument("--json", action="store_true", help="print a JSON summary instead of text")
    ap.add_argument("--print", dest="show", action="store_true", help="print the first values of each row")
    a = ap.parse_args(argv)

    ids = [int(t) for t in a.ids.replace(",", " ").split()]
    m = Model(GGUF(a.model))
    if m.arch not in ("llama", "qwen2", "bert"):
        raise SystemExit("ref_forward: architecture %s is not handled" % m.arch)
    if a.rope != "auto":
        m.neox = a.rope == "neox"

    def forward(f16_kv, act_quant):
        m.act_quant = act_quant
        if m.arch == "bert":
            pooling = m.pooling if a.pooling == "auto" else ["none", "mean", "cls", "last"].index(a.pooling)
            rows = m.bert(ids, f16_kv, gelu_erf if a.gelu == "erf" else gelu_tanh, pooling)
        elif a.embed:
            pooling = (m.pooling or 3) if a.pooling == "auto" else ["none", "mean", "cls", "last"].index(a.pooling)
            rows = pool(m.decoder(ids, f16_kv, hidden=True), pooling)
        else:
            rows = m.decoder(ids, f16_kv)
        return rows.astype(np.float32)

    rows = forward(a.f16_kv, a.act_quant)
    if a.out:
        rows.astype("<f4").tofile(a.out)
    if a.show:
        for i, r in enumerate(rows):
            print(i, " ".join("%.5f" % v for v in r[:8]))
    if not a.compare:
        return 0
    theirs = read_theirs(a.compare)
    if theirs.size != rows.size:
        raise SystemExit("ref_forward: %s has %d values, expected %d rows of %d"
                         % (a.compare, theirs.size, rows.shape[0], rows.shape[1]))
    theirs = theirs.reshape(rows.shape).astype(np.float64)
    res = summary(rows, theirs)
    if a.json:
        if a.emulated_too:
            # hearth's encoder keeps no F16 cache: only its matmul inputs round
            res = {"plain": res, "emulated": summary(forward(m.arch != "bert", True), theirs)}
        print(json.dumps(res))
    else:
        for i, e in enumerate(res["per_row"]):
            print("row %3d  rel err %.3e" % (i, e))
        print("worst %.3e  mean %.3e  argmax agreement %.3f"
              % (res["max_rel_err"], res["mean_rel_err"], res["argmax_agree"]))
    worst = res["plain"]["max_rel_err"] if "plain" in res else res["max_rel_err"]
    if a.max_rel_err is not None and worst > a.max_rel_err:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
