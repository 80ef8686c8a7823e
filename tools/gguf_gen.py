#!/usr/bin/env python3
"""gguf_gen.py — writes a GGUF v3 model with random weights, of any shape and
tensor type, for checking hearth's forward pass where no real model is at
hand (tests/reference/ref_forward.py computes what the logits must be).

Architectures: llama, qwen2 (q/k/v biases) and bert (for the embedding
path). Tensor names and metadata keys are llama.cpp's. Norm weights and
biases stay F32, as llama.cpp keeps them; token_embd, output and every 2-D
weight take --type, quantized here round-to-nearest following the block
layouts of src/engine/quant.h (the K-quants with a plain max/min scale
search, good enough for a test and nothing more).

The vocabulary is SentencePiece-style for llama/qwen2 (<unk>, <s>, </s>,
the 256 byte tokens, then "▁a", "a", "ab", ... with descending scores) and
WordPiece-style for bert ([PAD] [UNK] [CLS] [SEP] [MASK], then words), so
`hearth tokenize` works on any ASCII prompt.

Python 3 and NumPy only; the GGUF writer is written out below (no `gguf`
package). Usage:
  tools/gguf_gen.py --arch llama --n-embd 256 --n-layer 2 --n-head 4 \
      --n-head-kv 2 --n-ff 512 --n-vocab 600 --type q4_k --seed 1 --out m.gguf
"""
import argparse
import string
import struct
import sys

import numpy as np

# ---- GGUF container ---------------------------------------------------------

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3
ALIGNMENT = 32

# metadata value types
T_U8, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR, T_U64, T_I64, T_F64 = range(13)
_SCALAR_FMT = {T_U8: "<B", T_I8: "<b", T_U16: "<H", T_I16: "<h", T_U32: "<I", T_I32: "<i",
               T_F32: "<f", T_BOOL: "<?", T_U64: "<Q", T_I64: "<q", T_F64: "<d"}

# tensor types: GGUF number, elements per block, bytes per block
TYPES = {
    "f32": (0, 1, 4), "f16": (1, 1, 2), "q4_0": (2, 32, 18), "q4_1": (3, 32, 20),
    "q5_0": (6, 32, 22), "q5_1": (7, 32, 24), "q8_0": (8, 32, 34), "q2_k": (10, 256, 84),
    "q3_k": (11, 256, 110), "q4_k": (12, 256, 144), "q5_k": (13, 256, 176),
    "q6_k": (14, 256, 210), "bf16": (30, 1, 2),
}
# llama.cpp's general.file_type for a model mostly of that type
FILE_TYPE = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q8_0": 7, "q5_0": 8, "q5_1": 9,
             "q2_k": 10, "q3_k": 11, "q4_k": 14, "q5_k": 16, "q6_k": 18, "bf16": 32}


def _gguf_str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


class GGUFWriter:
    """Collects metadata and tensors, then writes the file in one go."""

    def __init__(self):
        self.kv = []       # (key, type, value[, element type])
        self.tensors = []  # (name, ne list, type number, bytes)

    def add(self, key, vtype, value):
        self.kv.append((key, vtype, value))

    def add_arr(self, key, etype, values):
        self.kv.append((key, T_ARR, (etype, list(values))))

    def add_tensor(self, name, ne, type_num, data):
        self.tensors.append((name, list(ne), type_num, bytes(data)))

    @staticmethod
    def _value(vtype, v):
        if vtype == T_STR:
            return _gguf_str(v)
        if vtype == T_ARR:
            etype, items = v
            out = [struct.pack("<IQ", etype, len(items))]
            out += [GGUFWriter._value(etype, x) for x in items]
            return b"".join(out)
        return struct.pack(_SCALAR_FMT[vtype], v)

    def write(self, path):
        head = [GGUF_MAGIC, struct.pack("<IQQ", GGUF_VERSION, len(self.tensors), len(self.kv))]
        for key, vtype, v in self.kv:
            head += [_gguf_str(key), struct.pack("<I", vtype), self._value(vtype, v)]
        offset = 0
        offsets = []
        for name, ne, tnum, data in self.tensors:
            offsets.append(offset)
            head += [_gguf_str(name), struct.pack("<I", len(ne)),
                     struct.pack("<%dQ" % len(ne), *ne), struct.pack("<IQ", tnum, offset)]
            offset += (len(data) + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT
        blob = b"".join(head)
        with open(path, "wb") as f:
            f.write(blob)
            f.write(b"\0" * (-len(blob) % ALIGNMENT))
            for (_, _, _, data), off in zip(self.tensors, offsets):
                f.write(data)
                f.write(b"\0" * (-len(data) % ALIGNMENT))

# ---- quantizers -------------------------------------------------------------
# Each takes x of shape (n_blocks, block_elems) float32 and returns uint8
# (n_blocks, block_bytes). Layouts are those of src/engine/quant.h.


def _f16(a):
    return np.asarray(a, np.float32).astype("<f2")


def _f16_bytes(a):
    return _f16(a).view(np.uint8).reshape(len(a), 2)


def _f16_val(a):
    return _f16(a).astype(np.float32)


def _safe_inv(d):
    d = np.asarray(d, np.float32)
    return np.where(d != 0, 1.0 / np.where(d != 0, d, 1), 0).astype(np.float32)


def _signed_absmax(x):
    """The element of largest magnitude of each row, with its sign."""
    return np.take_along_axis(x, np.abs(x).argmax(axis=-1)[..., None], axis=-1)[..., 0]


def _nibbles(lo, hi):
    return (lo.astype(np.uint8) & 15) | ((hi.astype(np.uint8) & 15) << 4)


def q_f32(x):
    return x.astype("<f4").view(np.uint8)


def q_f16(x):
    return x.astype("<f2").view(np.uint8)


def q_bf16(x):
    u = x.astype("<f4").view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2")
    return r.view(np.uint8)


def q_q8_0(x):
    d = np.abs(x).max(axis=1) / 127
    q = np.rint(x * _safe_inv(d)[:, None]).clip(-127, 127).astype(np.int8)
    return np.concatenate([_f16_bytes(d), q.view(np.uint8)], axis=1)


def _q_sym32(x, levels):
    """q4_0 / q5_0: w = d * (q - levels/2), d from the signed extreme."""
    half = levels // 2
    d = _signed_absmax(x) / -half
    dv = _f16_val(d)
    q = (np.rint(x * _safe_inv(dv)[:, None]) + half).clip(0, levels - 1).astype(np.uint32)
    return d, q


def _q_affine32(x, levels):
    """q4_1 / q5_1: w = d * q + m."""
    mn, mx = x.min(axis=1), x.max(axis=1)
    d = (mx - mn) / (levels - 1)
    dv, mv = _f16_val(d), _f16_val(mn)
    q = np.rint((x - mv[:, None]) * _safe_inv(dv)[:, None]).clip(0, levels - 1).astype(np.uint32)
    return d, mn, q


def _pack_qs16(q):
    """Element j in the low nibble of byte j, element j + 16 in its high nibble."""
    return _nibbles(q[:, :16], q[:, 16:])


def _pack_qh32(q):
    """Bit 4 of element j as bit j of a little-endian 32-bit word."""
    bits = ((q >> 4) & 1).astype(np.uint64) << np.arange(32, dtype=np.uint64)
    return bits.sum(axis=1).astype("<u4").view(np.uint8).reshape(-1, 4)


def q_q4_0(x):
    d, q = _q_sym32(x, 16)
    return np.concatenate([_f16_bytes(d), _pack_qs16(q)], axis=1)


def q_q4_1(x):
    d, m, q = _q_affine32(x, 16)
    return np.concatenate([_f16_bytes(d), _f16_bytes(m), _pack_qs16(q)], axis=1)


def q_q5_0(x):
    d, q = _q_sym32(x, 32)
    return np.concatenate([_f16_bytes(d), _pack_qh32(q), _pack_qs16(q)], axis=1)


def q_q5_1(x):
    d, m, q = _q_affine32(x, 32)
    return np.concatenate([_f16_bytes(d), _f16_bytes(m), _pack_qh32(q), _pack_qs16(q)], axis=1)


def _k_affine(x, group, levels, sc_max):
    """K-quant "scale and min" groups: w = d*sc*q - dmin*m, sc, m in
    0..sc_max. Returns d, dmin (n,), sc, m (n, groups), q (n, 256)."""
    n = x.shape[0]
    g = x.reshape(n, -1, group)
    mn = np.minimum(g.min(axis=2), 0)
    scale = (g.max(axis=2) - mn) / (levels - 1)
    d = scale.max(axis=1) / sc_max
    dmin = (-mn).max(axis=1) / sc_max
    dv, dminv = _f16_val(d), _f16_val(dmin)
    sc = np.rint(scale * _safe_inv(dv)[:, None]).clip(0, sc_max)
    m = np.rint(-mn * _safe_inv(dminv)[:, None]).clip(0, sc_max)
    eff = dv[:, None] * sc
    q = np.rint((g + (dminv[:, None] * m)[..., None]) * _safe_inv(eff)[..., None])
    q = q.clip(0, levels - 1).astype(np.uint32).reshape(n, -1)
    return d, dmin, sc.astype(np.uint32), m.astype(np.uint32), q


def _k_symmetric(x, group, half, sc_lo, sc_hi):
    """K-quant signed groups: w = d * sc * v, v in -half..half-1."""
    n = x.shape[0]
    g = x.reshape(n, -1, group)
    gs = _signed_absmax(g) / -half                  # each group's own scale
    d = _signed_absmax(gs) / sc_lo                   # sc_lo < 0: the extreme maps to it
    dv = _f16_val(d)
    sc = np.rint(gs * _safe_inv(dv)[:, None]).clip(sc_lo, sc_hi)
    eff = dv[:, None] * sc
    v = np.rint(g * _safe_inv(eff)[..., None]).clip(-half, half - 1)
    return d, sc.astype(np.int32), v.astype(np.int32).reshape(n, -1)


def _pack_k_scales(sc, m):
    """Eight 6-bit scales and mins of Q4_K/Q5_K into 12 bytes."""
    s = np.zeros((sc.shape[0], 12), np.uint32)
    s[:, 0:4] = sc[:, 0:4] | ((sc[:, 4:8] >> 4) << 6)
    s[:, 4:8] = m[:, 0:4] | ((m[:, 4:8] >> 4) << 6)
    s[:, 8:12] = (sc[:, 4:8] & 15) | ((m[:, 4:8] & 15) << 4)
    return s.astype(np.uint8)


def _pack_2bit(q):
    """Q2_K/Q3_K low bits: byte 32h + l holds element 128h + 32s + l at 2s."""
    q = (q.astype(np.uint32) & 3).reshape(-1, 2, 4, 32)
    out = q[:, :, 0] | (q[:, :, 1] << 2) | (q[:, :, 2] << 4) | (q[:, :, 3] << 6)
    return out.reshape(-1, 64).astype(np.uint8)


def q_q2_k(x):
    d, dmin, sc, m, q = _k_affine(x, 16, 4, 15)
    scales = (sc | (m << 4)).astype(np.uint8)
    return np.concatenate([scales, _pack_2bit(q), _f16_bytes(d), _f16_bytes(dmin)], axis=1)


def q_q3_k(x):
    d, sc, v = _k_symmetric(x, 16, 4, -32, 31)
    q3 = (v + 4).astype(np.uint32)                   # 0..7
    hbit = ((q3 >> 2) & 1).reshape(-1, 8, 32)        # [k][l]: element 32k + l
    hmask = (hbit << np.arange(8, dtype=np.uint32)[None, :, None]).sum(axis=1).astype(np.uint8)
    s = (sc + 32).astype(np.uint32)                  # 0..63
    scales = np.zeros((x.shape[0], 12), np.uint32)
    scales[:, 0:8] = (s[:, 0:8] & 15) | ((s[:, 8:16] & 15) << 4)
    hi = s >> 4                                      # top 2 bits of each scale
    for g in range(16):
        scales[:, 8 + g % 4] |= hi[:, g] << (2 * (g // 4))
    return np.concatenate([hmask, _pack_2bit(q3), scales.astype(np.uint8), _f16_bytes(d)], axis=1)


def _pack_k4_qs(q):
    """Q4_K/Q5_K low nibbles: chunk c of 64, low nibble element 64c + l,
    high nibble element 64c + 32 + l."""
    q = (q & 15).reshape(-1, 4, 2, 32)
    return _nibbles(q[:, :, 0], q[:, :, 1]).reshape(-1, 128)


def q_q4_k(x):
    d, dmin, sc, m, q = _k_affine(x, 32, 16, 63)
    return np.concatenate([_f16_bytes(d), _f16_bytes(dmin), _pack_k_scales(sc, m),
                           _pack_k4_qs(q)], axis=1)


def q_q5_k(x):
    d, dmin, sc, m, q = _k_affine(x, 32, 32, 63)
    hb = ((q >> 4) & 1).reshape(-1, 8, 32)           # [g][l]
    qh = (hb << np.arange(8, dtype=np.uint32)[None, :, None]).sum(axis=1).astype(np.uint8)
    return np.concatenate([_f16_bytes(d), _f16_bytes(dmin), _pack_k_scales(sc, m), qh,
                           _pack_k4_qs(q)], axis=1)


def q_q6_k(x):
    d, sc, v = _k_symmetric(x, 16, 32, -128, 127)
    q = (v + 32).astype(np.uint32).reshape(-1, 2, 4, 32)  # [half][quarter][l]
    ql = np.concatenate([_nibbles(q[:, :, 0], q[:, :, 2]), _nibbles(q[:, :, 1], q[:, :, 3])],
                        axis=2).reshape(-1, 128)
    hi = q >> 4
    qh = (hi[:, :, 0] | (hi[:, :, 1] << 2) | (hi[:, :, 2] << 4) | (hi[:, :, 3] << 6))
    qh = qh.astype(np.uint8).reshape(-1, 64)
    return np.concatenate([ql, qh, sc.astype(np.int8).view(np.uint8), _f16_bytes(d)], axis=1)


QUANTIZERS = {"f32": q_f32, "f16": q_f16, "bf16": q_bf16, "q8_0": q_q8_0, "q4_0": q_q4_0,
              "q4_1": q_q4_1, "q5_0": q_q5_0, "q5_1": q_q5_1, "q2_k": q_q2_k, "q3_k": q_q3_k,
              "q4_k": q_q4_k, "q5_k": q_q5_k, "q6_k": q_q6_k}


def quantize(w, tname):
    """A 2-D float array (rows, cols) as GGUF tensor bytes of type tname."""
    _, be, bb = TYPES[tname]
    rows, cols = w.shape
    if cols % be:
        raise SystemExit("gguf_gen: a %s row needs a multiple of %d elements, not %d" % (tname, be, cols))
    x = np.ascontiguousarray(w, np.float32).reshape(-1, be)
    out = QUANTIZERS[tname](x)
    assert out.size == rows * cols // be * bb, (tname, out.shape)
    return np.ascontiguousarray(out).tobytes()

# ---- vocabularies -----------------------------------------------------------


def _pieces():
    """Normal tokens in priority order, endless enough for any small vocab."""
    letters = string.ascii_lowercase
    yield "\u2581"
    for c in letters:
        yield "\u2581" + c
        yield c
    for c in string.ascii_uppercase + string.digits + ".,!?'-":
        yield c
        yield "\u2581" + c
    for a in letters:
        for b in letters:
            yield a + b
            yield "\u2581" + a + b
    for a in letters:
        for b in letters:
            for c in letters:
                yield a + b + c
    # Big vocabularies (benchmark shapes): four-letter pieces, then numbered
    # filler that no ordinary text tokenizes to.
    for a in letters:
        for b in letters:
            for c in letters:
                for d in letters:
                    yield "\u2581" + a + b + c + d
    n = 0
    while True:
        yield "<filler_%d>" % n
        n += 1


def spm_vocab(n_vocab):
    toks = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    types = [2, 3, 3] + [6] * 256
    if n_vocab < len(toks) + 1:
        raise SystemExit("gguf_gen: a SentencePiece vocabulary needs at least %d tokens" % (len(toks) + 1))
    gen = _pieces()
    while len(toks) < n_vocab:
        toks.append(next(gen))
        types.append(1)
    scores = [0.0] * 259 + [-float(i) for i in range(n_vocab - 259)]
    return toks, scores, types


def wpm_vocab(n_vocab):
    toks = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    types = [3] * 5
    words = []
    for c in string.ascii_lowercase + string.digits + ".,!?'-":
        words += ["\u2581" + c, c]                   # a word start and a "##" suffix
    for a in string.ascii_lowercase:
        for b in string.ascii_lowercase:
            words += ["\u2581" + a + b, a + b]
    if n_vocab > len(toks) + len(words):
        raise SystemExit("gguf_gen: the bert vocabulary stops at %d tokens" % (len(toks) + len(words)))
    toks += words[: n_vocab - len(toks)]
    types += [1] * (n_vocab - len(types))
    return toks, [0.0] * n_vocab, types

# ---- the model --------------------------------------------------------------


def build(a):
    rng = np.random.default_rng(a.seed)
    E, L, H, F, V = a.n_embd, a.n_layer, a.n_head, a.n_ff, a.n_vocab
    HKV = a.n_head_kv or H
    if E % H or H % HKV:
        raise SystemExit("gguf_gen: n_embd must divide by n_head, n_head by n_head_kv")
    hd = E // H
    KV = HKV * hd
    arch = a.arch
    w = GGUFWriter()
    w.add("general.architecture", T_STR, arch)
    w.add("general.name", T_STR, "gguf_gen %s %s seed %d" % (arch, a.type, a.seed))
    w.add("general.alignment", T_U32, ALIGNMENT)
    w.add("general.file_type", T_U32, FILE_TYPE[a.type])
    w.add(arch + ".context_length", T_U32, a.ctx)
    w.add(arch + ".embedding_length", T_U32, E)
    w.add(arch + ".block_count", T_U32, L)
    w.add(arch + ".feed_forward_length", T_U32, F)
    w.add(arch + ".attention.head_count", T_U32, H)
    w.add(arch + ".attention.head_count_kv", T_U32, HKV)
    if arch == "bert":
        w.add("bert.attention.layer_norm_epsilon", T_F32, 1e-12)
        w.add("bert.attention.causal", T_BOOL, False)
        w.add("bert.pooling_type", T_U32, {"none": 0, "mean": 1, "cls": 2}[a.pooling])
        toks, scores, types = wpm_vocab(V)
        w.add("tokenizer.ggml.model", T_STR, "bert")
        w.add("tokenizer.ggml.pre", T_STR, "default")
        w.add("tokenizer.ggml.token_type_count", T_U32, 2)
        w.add_arr("tokenizer.ggml.tokens", T_STR, toks)
        w.add_arr("tokenizer.ggml.token_type", T_I32, types)
        for key, tid in (("unknown", 1), ("seperator", 3), ("padding", 0), ("cls", 2),
                         ("mask", 4), ("bos", 2)):
            w.add("tokenizer.ggml.%s_token_id" % key, T_U32, tid)
    else:
        w.add(arch + ".rope.freq_base", T_F32, a.rope_base)
        w.add(arch + ".rope.dimension_count", T_U32, hd)
        w.add(arch + ".attention.layer_norm_rms_epsilon", T_F32, 1e-6 if arch == "qwen2" else 1e-5)
        toks, scores, types = spm_vocab(V)
        w.add("tokenizer.ggml.model", T_STR, "llama")
        w.add("tokenizer.ggml.pre", T_STR, "default")
        w.add_arr("tokenizer.ggml.tokens", T_STR, toks)
        w.add_arr("tokenizer.ggml.scores", T_F32, scores)
        w.add_arr("tokenizer.ggml.token_type", T_I32, types)
        w.add("tokenizer.ggml.bos_token_id", T_U32, 1)
        w.add("tokenizer.ggml.eos_token_id", T_U32, 2)
        w.add("tokenizer.ggml.unknown_token_id", T_U32, 0)
        w.add("tokenizer.ggml.add_bos_token", T_BOOL, True)
        w.add("tokenizer.ggml.add_eos_token", T_BOOL, False)

    # llama.cpp's quantizer puts a K-quant's rows that are not a multiple of
    # 256 in a 32-block type instead; --strict refuses such shapes.
    fallback = {"q2_k": "q4_0", "q3_k": "q4_0", "q4_k": "q5_0", "q5_k": "q5_1", "q6_k": "q8_0"}

    def mat(name, rows, cols, std):
        """A 2-D weight of --type; GGUF's ne is [cols, rows]."""
        x = rng.standard_normal((rows, cols), dtype=np.float32) * np.float32(std)
        tname = a.type
        if not a.strict and tname in fallback and cols % 256:
            tname = fallback[tname]
        w.add_tensor(name, [cols, rows], TYPES[tname][0], quantize(x, tname))

    def vec(name, n, mean, std):
        x = (mean + rng.standard_normal(n, dtype=np.float32) * np.float32(std)).astype(np.float32)
        w.add_tensor(name, [n], 0, x.astype("<f4").tobytes())

    # Weights ~ N(0, 1/fan_in) keep every activation O(1) however wide the
    # model; the embedding and the norms are O(1) themselves.
    # Tied, the embedding is also the output projection: keep the logits
    # O(1) (std ~2) rather than O(sqrt(E)).
    mat("token_embd.weight", V, E, 2 * E ** -0.5 if a.tied and arch != "bert" else 1.0)
    if arch == "bert":
        w.add_tensor("token_types.weight", [E, 2], 0,
                     (rng.standard_normal((2, E), dtype=np.float32) * 0.5).astype("<f4").tobytes())
        w.add_tensor("position_embd.weight", [E, a.ctx], 0,
                     (rng.standard_normal((a.ctx, E), dtype=np.float32) * 0.5).astype("<f4").tobytes())
        vec("token_embd_norm.weight", E, 1.0, 0.1)
        vec("token_embd_norm.bias", E, 0.0, 0.1)
    for i in range(L):
        p = "blk.%d." % i
        if arch != "bert":
            vec(p + "attn_norm.weight", E, 1.0, 0.1)
        mat(p + "attn_q.weight", E, E, E ** -0.5)
        mat(p + "attn_k.weight", KV, E, E ** -0.5)
        mat(p + "attn_v.weight", KV, E, E ** -0.5)
        if arch in ("qwen2", "bert"):
            vec(p + "attn_q.bias", E, 0.0, 0.5)
            vec(p + "attn_k.bias", KV, 0.0, 0.5)
            vec(p + "attn_v.bias", KV, 0.0, 0.5)
        mat(p + "attn_output.weight", E, E, E ** -0.5)
        if arch == "bert":
            vec(p + "attn_output.bias", E, 0.0, 0.1)
            vec(p + "attn_output_norm.weight", E, 1.0, 0.1)
            vec(p + "attn_output_norm.bias", E, 0.0, 0.1)
            mat(p + "ffn_up.weight", F, E, E ** -0.5)
            vec(p + "ffn_up.bias", F, 0.0, 0.1)
            mat(p + "ffn_down.weight", E, F, F ** -0.5)
            vec(p + "ffn_down.bias", E, 0.0, 0.1)
            vec(p + "layer_output_norm.weight", E, 1.0, 0.1)
            vec(p + "layer_output_norm.bias", E, 0.0, 0.1)
        else:
            vec(p + "ffn_norm.weight", E, 1.0, 0.1)
            mat(p + "ffn_gate.weight", F, E, E ** -0.5)
            mat(p + "ffn_up.weight", F, E, E ** -0.5)
            mat(p + "ffn_down.weight", E, F, F ** -0.5)
    if arch != "bert":
        vec("output_norm.weight", E, 1.0, 0.1)
        if not a.tied:
            mat("output.weight", V, E, E ** -0.5)
    return w


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=["llama", "qwen2", "bert"], default="llama")
    ap.add_argument("--n-embd", type=int, default=256)
    ap.add_argument("--n-layer", type=int, default=2)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-head-kv", type=int, default=0, help="0: as --n-head")
    ap.add_argument("--n-ff", type=int, default=512)
    ap.add_argument("--n-vocab", type=int, default=600)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--rope-base", type=float, default=10000.0)
    ap.add_argument("--tied", action="store_true", help="no output.weight: logits from token_embd")
    ap.add_argument("--type", choices=sorted(TYPES), default="f32")
    ap.add_argument("--pooling", choices=["none", "mean", "cls"], default="mean", help="bert only")
    ap.add_argument("--strict", action="store_true",
                    help="refuse shapes a K-quant cannot hold instead of llama.cpp's fallback types")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    build(a).write(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
