#!/usr/bin/env python3
"""convert_bert.py — converts a sentence-transformers / Hugging Face BERT
directory (config.json, model.safetensors, vocab.txt or tokenizer.json,
optional modules.json + 1_Pooling/config.json) into a GGUF v3 file that
hearth and llama.cpp both load as architecture "bert".

What it writes follows what llama.cpp's own converter (convert_hf_to_gguf.py,
class BertModel) writes for such a model, so the two files are
interchangeable:

  tensors   token_embd, token_types, position_embd, token_embd_norm.{weight,bias},
            blk.N.attn_{q,k,v}.{weight,bias}, blk.N.attn_output.{weight,bias},
            blk.N.attn_output_norm.{weight,bias}, blk.N.ffn_up.{weight,bias},
            blk.N.ffn_down.{weight,bias}, blk.N.layer_output_norm.{weight,bias}.
            The pooler, position_ids and any MLM/NSP heads are dropped.
  types     every 1-D tensor, every *_norm.weight, position_embd and
            token_types stay F32; the other 2-D weights (token_embd included)
            take --type: f32, f16 (round to nearest even) or q8_0 (blocks of
            32: fp16 d = absmax/127, qs = round-half-away(x/d), the layout of
            src/engine/quant.h and ggml's reference quantizer). A row whose
            length is not a multiple of 32 falls back to F16, as llama.cpp's
            converter does.
  metadata  general.{architecture,type,name,basename,size_label,license,
            file_type,quantization_version}; bert.{context_length,
            embedding_length,feed_forward_length,block_count,
            attention.head_count,attention.layer_norm_epsilon,
            attention.causal=false,pooling_type} (pooling from the
            sentence-transformers Pooling module: 1 mean, 2 cls; absent when
            there is no Pooling module); tokenizer.ggml.{model="bert",pre,
            tokens,token_type,token_type_count} and the special token ids
            (unknown, seperator, padding, mask; bos/eos only when the
            tokenizer declares them) plus add_bos/add_eos when
            tokenizer_config.json sets them.
  vocab     llama.cpp's "phantom space" form of WordPiece: "##x" becomes "x",
            a word-start token "x" becomes "\u2581x", "[...]" tokens stay as
            they are. Ids missing below config vocab_size become "[PAD<i>]"
            (type UNUSED). Added special tokens are CONTROL (3), the rest
            NORMAL (1). No scores (llama.cpp writes none for BERT).
  pre       llama.cpp names the pre-tokenizer by hashing HF token ids of a
            check text; for a lowercasing BERT WordPiece tokenizer (e.g.
            bert-base-uncased's vocab) that hash gives "jina-v2-en" (it also
            matches "bert-bge"; the last match wins in its converter). Without
            transformers we cannot hash, so: lowercasing WordPiece ->
            "jina-v2-en", otherwise "default"; --pre overrides. llama.cpp
            ignores the value for WPM vocabularies.

llama.cpp has no GGUF key for "L2-normalize the pooled output"
(sentence-transformers' 2_Normalize module); hearth and llama-embedding
normalize by default, so nothing is written for it.

Python 3 and NumPy only: safetensors is read directly (8-byte little-endian
header length, JSON header, raw little-endian data), and the GGUF writer is
below. Usage:
  tools/convert_bert.py MODEL_DIR --type f16 --name all-MiniLM-L6-v2 \\
      --out models/all-minilm-l6-v2-f16.gguf
"""
import argparse
import json
import os
import re
import struct
import sys

import numpy as np

# ---- GGUF container ---------------------------------------------------------

GGUF_VERSION = 3
ALIGNMENT = 32
QUANT_VERSION = 2  # GGML_QNT_VERSION

T_U8, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR, T_U64, T_I64, T_F64 = range(13)
_SCALAR = {T_U8: "<B", T_I8: "<b", T_U16: "<H", T_I16: "<h", T_U32: "<I", T_I32: "<i",
           T_F32: "<f", T_BOOL: "<?", T_U64: "<Q", T_I64: "<q", T_F64: "<d"}

GGML_F32, GGML_F16, GGML_Q8_0 = 0, 1, 8
FILE_TYPE = {"f32": 0, "f16": 1, "q8_0": 7}  # llama.cpp's LlamaFileType
TOKEN_NORMAL, TOKEN_CONTROL, TOKEN_USER_DEFINED, TOKEN_UNUSED = 1, 3, 4, 5
POOLING_MEAN, POOLING_CLS = 1, 2


def _str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _value(vtype, v):
    if vtype == T_STR:
        return _str(v)
    if vtype == T_ARR:
        etype, items = v
        if etype == T_STR:
            return struct.pack("<IQ", etype, len(items)) + b"".join(_str(x) for x in items)
        return struct.pack("<IQ", etype, len(items)) + np.asarray(
            items, dtype=np.dtype(_SCALAR[etype])).tobytes()
    return struct.pack(_SCALAR[vtype], v)


class Writer:
    def __init__(self):
        self.kv = []       # (key, type, value)
        self.tensors = []  # (name, shape in ggml order (ne0 first), ggml type, bytes)

    def add(self, key, vtype, value):
        if any(k == key for k, _, _ in self.kv):
            raise ValueError("duplicate key " + key)
        self.kv.append((key, vtype, value))

    def arr(self, key, etype, values):
        self.add(key, T_ARR, (etype, list(values)))

    def tensor(self, name, ne, ttype, data):
        self.tensors.append((name, list(ne), ttype, data))

    def write(self, path):
        head = [b"GGUF", struct.pack("<IQQ", GGUF_VERSION, len(self.tensors), len(self.kv))]
        for key, vtype, v in self.kv:
            head += [_str(key), struct.pack("<I", vtype), _value(vtype, v)]
        offsets, off = [], 0
        for name, ne, ttype, data in self.tensors:
            offsets.append(off)
            head += [_str(name), struct.pack("<I", len(ne)), struct.pack("<%dQ" % len(ne), *ne),
                     struct.pack("<IQ", ttype, off)]
            off += (len(data) + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT
        blob = b"".join(head)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(blob)
            f.write(b"\0" * (-len(blob) % ALIGNMENT))
            for (_, _, _, data), o in zip(self.tensors, offsets):
                f.write(data)
                f.write(b"\0" * (-len(data) % ALIGNMENT))
        os.replace(tmp, path)

# ---- safetensors ------------------------------------------------------------

_ST_DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8", "I32": "<i4",
              "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}


def read_safetensors(path):
    """{name: float32 ndarray} (BF16 widened; integer tensors kept as is)."""
    out = {}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        raw = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        buf = raw[b:e]
        dt, shape = info["dtype"], info["shape"]
        if dt == "BF16":
            a = (np.frombuffer(buf, "<u2").astype(np.uint32) << 16).view(np.float32)
        elif dt in _ST_DTYPES:
            a = np.frombuffer(buf, _ST_DTYPES[dt])
        else:
            raise SystemExit(f"{path}: tensor {name} has unsupported dtype {dt}")
        a = a.reshape(shape)
        if a.dtype.kind == "f":
            a = a.astype(np.float32)
        out[name] = a
    return out


def load_weights(d):
    files = sorted(f for f in os.listdir(d) if f.endswith(".safetensors"))
    if not files:
        raise SystemExit(f"{d}: no *.safetensors file (pytorch_model.bin is not supported)")
    w = {}
    for f in files:
        w.update(read_safetensors(os.path.join(d, f)))
    return w

# ---- quantizers -------------------------------------------------------------


def _round_away(x):
    """C roundf: halves away from zero (ggml's reference quantizer)."""
    return np.sign(x) * np.floor(np.abs(x) + np.float32(0.5))


def quant_q8_0(x):
    blocks = x.reshape(-1, 32).astype(np.float32)
    d = (np.abs(blocks).max(axis=1, keepdims=True) / np.float32(127)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(d == 0, np.float32(0), np.float32(1) / d).astype(np.float32)
    qs = _round_away((blocks * inv).astype(np.float32)).astype(np.int8)
    out = np.empty((blocks.shape[0], 34), np.uint8)
    out[:, :2] = d.astype("<f2").view(np.uint8)
    out[:, 2:] = qs.view(np.uint8)
    return out.tobytes()


def encode_tensor(a, ttype):
    if ttype == GGML_F32:
        return np.ascontiguousarray(a, "<f4").tobytes()
    if ttype == GGML_F16:
        return np.ascontiguousarray(a.astype("<f2")).tobytes()
    if ttype == GGML_Q8_0:
        return quant_q8_0(np.ascontiguousarray(a))
    raise ValueError(ttype)

# ---- names ------------------------------------------------------------------

_BLOCK_MAP = {
    "attention.self.query": "attn_q",
    "attention.self.key": "attn_k",
    "attention.self.value": "attn_v",
    "attention.output.dense": "attn_output",
    "attention.output.LayerNorm": "attn_output_norm",
    "intermediate.dense": "ffn_up",
    "output.dense": "ffn_down",
    "output.LayerNorm": "layer_output_norm",
}
_TOP_MAP = {
    "embeddings.word_embeddings": "token_embd",
    "embeddings.token_type_embeddings": "token_types",
    "embeddings.position_embeddings": "position_embd",
    "embeddings.LayerNorm": "token_embd_norm",
}
_DROP = re.compile(r"^(embeddings\.position_ids|pooler\.|cls\.)")


def gguf_name(hf):
    """The llama.cpp name of a HF tensor name, None to drop it."""
    if hf.startswith("bert."):
        hf = hf[5:]
    if hf.endswith(".gamma"):
        hf = hf[:-6] + ".weight"
    elif hf.endswith(".beta"):
        hf = hf[:-5] + ".bias"
    if _DROP.match(hf):
        return None
    base, _, suffix = hf.rpartition(".")
    if suffix not in ("weight", "bias"):
        raise SystemExit(f"unexpected tensor {hf}")
    if base in _TOP_MAP:
        return f"{_TOP_MAP[base]}.{suffix}"
    m = re.match(r"^encoder\.layer\.(\d+)\.(.+)$", base)
    if m and m.group(2) in _BLOCK_MAP:
        return f"blk.{m.group(1)}.{_BLOCK_MAP[m.group(2)]}.{suffix}"
    raise SystemExit(f"do not know where tensor {hf} goes")


def tensor_type(name, ndim, ncols, want):
    if ndim <= 1 or name.endswith("_norm.weight") or not name.endswith(".weight"):
        return GGML_F32
    if name in ("position_embd.weight", "token_types.weight"):
        return GGML_F32
    t = {"f32": GGML_F32, "f16": GGML_F16, "q8_0": GGML_Q8_0}[want]
    if t == GGML_Q8_0 and ncols % 32:
        print(f"warning: {name}: {ncols} columns is not a multiple of 32, writing F16",
              file=sys.stderr)
        t = GGML_F16
    return t

# ---- vocabulary -------------------------------------------------------------


def _json(path):
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_vocab(d, n_vocab):
    tj = _json(os.path.join(d, "tokenizer.json"))
    tc = _json(os.path.join(d, "tokenizer_config.json")) or {}
    if tj and tj.get("model", {}).get("type") == "WordPiece":
        vocab = tj["model"]["vocab"]
    elif os.path.isfile(os.path.join(d, "vocab.txt")):
        with open(os.path.join(d, "vocab.txt"), encoding="utf-8") as f:  # as HF reads it
            vocab = {line.rstrip("\n"): i for i, line in enumerate(f.readlines())}
    else:
        raise SystemExit(f"{d}: need a WordPiece tokenizer.json or a vocab.txt")
    added = {t["id"]: t for t in (tj or {}).get("added_tokens", [])}
    for tid, t in added.items():
        vocab[t["content"]] = tid
    if n_vocab is None:
        n_vocab = max(vocab.values()) + 1
    if max(vocab.values()) >= n_vocab:
        raise SystemExit(f"vocab has id {max(vocab.values())} >= vocab_size {n_vocab}")
    rev = {i: t for t, i in vocab.items()}

    def phantom(tok):
        if tok.startswith("[") and tok.endswith("]"):
            return tok
        if tok.startswith("##"):
            return tok[2:]
        return "\u2581" + tok

    tokens, types = [], []
    for i in range(n_vocab):
        if i not in rev:
            tokens.append(f"[PAD{i}]")
            types.append(TOKEN_UNUSED)
            continue
        tok = rev[i]
        if i in added:
            looks_special = (tok.startswith("[") and tok.endswith("]")) or \
                            (tok.startswith("<") and tok.endswith(">"))
            types.append(TOKEN_CONTROL if added[i].get("special") or looks_special
                         else TOKEN_USER_DEFINED)
        else:
            types.append(TOKEN_NORMAL)
        tokens.append(phantom(tok))

    # special ids, as gguf-py's SpecialVocab finds them: tokenizer_config's
    # <typ>_token text looked up among the added tokens, then config.json's
    # <typ>_token_id; llama.cpp (this version) has no key for cls.
    special = {}
    by_content = {t["content"]: tid for tid, t in added.items()}
    for typ in ("bos", "eos", "unk", "sep", "pad", "mask"):
        e = tc.get(f"{typ}_token")
        if isinstance(e, dict):
            e = e.get("content")
        if isinstance(e, str) and e in by_content and typ not in special:
            special[typ] = by_content[e]
    add_flags = {typ: tc[f"add_{typ}_token"] for typ in ("bos", "eos")
                 if isinstance(tc.get(f"add_{typ}_token"), bool)}

    lower = tc.get("do_lower_case", True)
    if tj and isinstance(tj.get("normalizer"), dict):
        lower = tj["normalizer"].get("lowercase", lower)
    return tokens, types, special, add_flags, bool(lower)


def pooling_type(d):
    mods = _json(os.path.join(d, "modules.json"))
    if not mods:
        return None
    for m in mods:
        if m.get("type") == "sentence_transformers.models.Pooling":
            p = _json(os.path.join(d, m["path"], "config.json"))
            if p is None:
                raise SystemExit(f"{d}: modules.json names {m['path']}/config.json, which is missing")
            if p.get("pooling_mode_mean_tokens"):
                return POOLING_MEAN
            if p.get("pooling_mode_cls_token"):
                return POOLING_CLS
            raise SystemExit("only mean and CLS pooling are supported")
    return None


def size_label(n):
    for div, suf in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= div:
            v = n / div
            return f"{v:.0f}{suf}" if v >= 10 else f"{v:.1f}{suf}"
    return str(n)


def card_license(d):
    p = os.path.join(d, "README.md")
    if not os.path.isfile(p):
        return None
    with open(p, encoding="utf-8") as f:
        text = f.read()
    m = re.match(r"^---\n(.*?)\n---", text, re.S)
    if m:
        lm = re.search(r"^license:\s*(\S+)\s*$", m.group(1), re.M)
        if lm:
            return lm.group(1)
    return None

# ---- main -------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("--type", choices=sorted(FILE_TYPE), default="f16")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", help="general.name (default: the directory's name)")
    ap.add_argument("--pre", help="tokenizer.ggml.pre (default: see the header)")
    args = ap.parse_args()
    d = args.model_dir

    cfg = _json(os.path.join(d, "config.json"))
    if cfg is None:
        raise SystemExit(f"{d}: no config.json")
    if cfg.get("model_type", "bert") != "bert":
        raise SystemExit(f"model_type {cfg.get('model_type')} is not bert")
    if cfg.get("position_embedding_type", "absolute") != "absolute":
        raise SystemExit("only absolute position embeddings are supported")
    if cfg.get("hidden_act", "gelu") != "gelu":
        raise SystemExit(f"hidden_act {cfg.get('hidden_act')}: only gelu (erf) is supported")

    weights = load_weights(d)
    out_tensors = {}
    for hf, a in weights.items():
        name = gguf_name(hf)
        if name is not None:
            out_tensors[name] = a
    n_layer = cfg["num_hidden_layers"]
    want = ["token_embd.weight", "token_types.weight", "position_embd.weight",
            "token_embd_norm.weight", "token_embd_norm.bias"]
    for i in range(n_layer):
        for t in ("attn_q", "attn_k", "attn_v", "attn_output", "attn_output_norm", "ffn_up",
                  "ffn_down", "layer_output_norm"):
            want += [f"blk.{i}.{t}.weight", f"blk.{i}.{t}.bias"]
    missing = [n for n in want if n not in out_tensors]
    extra = [n for n in out_tensors if n not in want]
    if missing or extra:
        raise SystemExit(f"tensor set mismatch: missing {missing[:5]} extra {extra[:5]}")

    tokens, types, special, add_flags, lower = load_vocab(d, cfg.get("vocab_size"))
    if out_tensors["token_embd.weight"].shape[0] != len(tokens):
        raise SystemExit("token_embd rows != vocab size")

    name = args.name or os.path.basename(os.path.normpath(d))
    if name == "model" and not args.name:
        name = os.path.basename(os.path.dirname(os.path.normpath(d)))
    n_params = sum(int(a.size) for a in out_tensors.values())

    w = Writer()
    w.add("general.architecture", T_STR, "bert")
    w.add("general.type", T_STR, "model")
    w.add("general.name", T_STR, name)
    w.add("general.basename", T_STR, name)
    w.add("general.size_label", T_STR, size_label(n_params))
    lic = card_license(d)
    if lic:
        w.add("general.license", T_STR, lic)
    w.add("bert.block_count", T_U32, n_layer)
    w.add("bert.context_length", T_U32, cfg["max_position_embeddings"])
    w.add("bert.embedding_length", T_U32, cfg["hidden_size"])
    w.add("bert.feed_forward_length", T_U32, cfg["intermediate_size"])
    w.add("bert.attention.head_count", T_U32, cfg["num_attention_heads"])
    w.add("bert.attention.layer_norm_epsilon", T_F32, float(cfg.get("layer_norm_eps", 1e-12)))
    w.add("general.file_type", T_U32, FILE_TYPE[args.type])
    w.add("bert.attention.causal", T_BOOL, False)
    pool = pooling_type(d)
    if pool is not None:
        w.add("bert.pooling_type", T_U32, pool)
    w.add("tokenizer.ggml.token_type_count", T_U32, cfg.get("type_vocab_size", 1))
    w.add("tokenizer.ggml.model", T_STR, "bert")
    w.add("tokenizer.ggml.pre", T_STR, args.pre or ("jina-v2-en" if lower else "default"))
    w.arr("tokenizer.ggml.tokens", T_STR, tokens)
    w.arr("tokenizer.ggml.token_type", T_I32, types)
    keys = {"bos": "bos_token_id", "eos": "eos_token_id", "unk": "unknown_token_id",
            "sep": "seperator_token_id", "pad": "padding_token_id", "mask": "mask_token_id"}
    for typ, tid in special.items():
        w.add("tokenizer.ggml." + keys[typ], T_U32, tid)
    for typ, v in add_flags.items():
        w.add(f"tokenizer.ggml.add_{typ}_token", T_BOOL, v)
    w.add("general.quantization_version", T_U32, QUANT_VERSION)

    counts = {}
    for n in want:
        a = out_tensors[n]
        tt = tensor_type(n, a.ndim, a.shape[-1], args.type)
        counts[tt] = counts.get(tt, 0) + 1
        w.tensor(n, list(reversed(a.shape)), tt, encode_tensor(a, tt))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    w.write(args.out)
    names = {GGML_F32: "f32", GGML_F16: "f16", GGML_Q8_0: "q8_0"}
    print(f"{args.out}: {len(want)} tensors ({', '.join(f'{c} {names[t]}' for t, c in counts.items())}),"
          f" {n_params} parameters, vocab {len(tokens)}, pooling {pool}, {len(w.kv)} keys",
          file=sys.stderr)


if __name__ == "__main__":
    main()
