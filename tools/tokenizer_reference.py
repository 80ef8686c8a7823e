#!/usr/bin/env python3
"""tokenizer_reference.py — writes the reference that
tests/integration/tokenizer_hf.test.js holds hearth's byte-level BPE
tokenizer to: SmolLM2-135M-Instruct's real Hugging Face tokenizer (the
`tokenizers` package from PyPI) run on 1,000+ varied lines.

The GGUF that scripts/install.sh installs carries the vocabulary
(tokenizer.ggml.tokens) and the merges (tokenizer.ggml.merges) exactly as
convert_hf_to_gguf.py copied them from tokenizer.json, but not the rest of
tokenizer.json. This script rebuilds tokenizer.json from those two arrays
plus the settings of HuggingFaceTB/SmolLM2-135M-Instruct's own file (see
HF_CONFIG below and tests/data/tokenizer/README.md for where they come
from), loads it with tokenizers.Tokenizer.from_str, and encodes every line
with add_special_tokens=False.

Files (all in --out-dir, default tests/data/tokenizer):
  smollm2_lines.jsonl  the inputs, one JSON string per line (so tabs, CR, LF,
                       NUL and every other control character survive);
                       invisible and separator characters are written as
                       \\uXXXX escapes so the file can be read by a person
  smollm2_hf.jsonl     one {"text": str, "ids": [int]} per input, in order;
                       "ids_no_special" is added where it differs from "ids":
                       the ids with special-token texts NOT recognised
                       (Tokenizer.encode_special_tokens = True), which is
                       what `hearth tokenize` gives without --parse-special

Usage (a venv with the tools, e.g. /work/venv-tok):
  python3 -m venv /work/venv-tok
  /work/venv-tok/bin/pip install tokenizers==0.23.3 gguf==0.19.0
  /work/venv-tok/bin/python tools/tokenizer_reference.py            # make lines + reference
  /work/venv-tok/bin/python tools/tokenizer_reference.py --lines FILE  # reference for given lines
  /work/venv-tok/bin/python tools/tokenizer_reference.py --check-vocab ../shared/vocab/ggml-vocab-starcoder.gguf
      (rebuilds the tokenizer of another GGUF with the same pre-tokenizer the
      same way and compares it with llama.cpp's .inp/.out vectors, which
      were made with the model's real tokenizer.json: a check of this
      script's method, not of hearth)
  /work/venv-tok/bin/python tools/tokenizer_reference.py --sets
      (how the system's PCRE2 reads \\p{L}, \\p{N}, \\s against the HF tokenizers:
      the LETTERS_EXTRA / NUMBERS_EXTRA / DIGITS_EXTRA lists of tok_bpe.c)
  /work/venv-tok/bin/python tools/tokenizer_reference.py --sweep ./hearth
      (every Unicode code point in context through both tokenizers; ~2 min)
"""
import argparse
import datetime
import json
import os
import random
import sys
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MODEL = os.path.join(ROOT, "models", "smollm2-135m-instruct.gguf")
DEFAULT_OUT = os.path.join(ROOT, "tests", "data", "tokenizer")

# ---- the tokenizer ----------------------------------------------------------

# Everything in SmolLM2's tokenizer.json except the vocabulary and merges
# (which come from the GGUF). The token ids of the added tokens are their
# vocabulary ids (0..16 in SmolLM2). The post-processor only touches offsets
# and the special tokens of add_special_tokens=True, neither of which this
# reference uses; it is set as in the original for completeness.
HF_CONFIG = {
    "normalizer": None,
    "pre_tokenizer": {
        "type": "Sequence",
        "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
             "use_regex": True},
        ],
    },
    "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                       "use_regex": True},
    "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                "use_regex": True},
    "model": {"type": "BPE", "dropout": None, "unk_token": None,
              "continuing_subword_prefix": None, "end_of_word_suffix": None,
              "fuse_unk": False, "byte_fallback": False, "ignore_merges": False},
}

# GGUF token type 3 = control: the special tokens of tokenizer.json's
# added_tokens (all "special": true, no lstrip/rstrip/single_word, not
# normalized).
GGUF_TYPE_CONTROL = 3


def read_gguf_vocab(path):
    from gguf import GGUFReader
    r = GGUFReader(path)

    def field(name):
        f = r.fields.get(name)
        if f is None:
            sys.exit(f"{path}: no {name}")
        return f.contents()

    model = field("tokenizer.ggml.model")
    if model != "gpt2":
        sys.exit(f"{path}: tokenizer.ggml.model is {model!r}, not a byte-level BPE ('gpt2')")
    pre = r.fields["tokenizer.ggml.pre"].contents() if "tokenizer.ggml.pre" in r.fields else ""
    tokens = field("tokenizer.ggml.tokens")
    merges = field("tokenizer.ggml.merges")
    types = field("tokenizer.ggml.token_type") if "tokenizer.ggml.token_type" in r.fields else []
    return pre, tokens, merges, types


def build_tokenizer_json(tokens, merges, types):
    vocab = {}
    for i, t in enumerate(tokens):
        vocab.setdefault(t, i)
    added = []
    for i, t in enumerate(tokens):
        if i < len(types) and types[i] == GGUF_TYPE_CONTROL:
            added.append({"id": i, "content": t, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True})
    model = dict(HF_CONFIG["model"])
    model["vocab"] = vocab
    model["merges"] = [m.split(" ", 1) for m in merges]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": HF_CONFIG["normalizer"],
        "pre_tokenizer": HF_CONFIG["pre_tokenizer"],
        "post_processor": HF_CONFIG["post_processor"],
        "decoder": HF_CONFIG["decoder"],
        "model": model,
    }


def load_tokenizer(gguf_path, want_pre=("smollm",)):
    from tokenizers import Tokenizer
    pre, tokens, merges, types = read_gguf_vocab(gguf_path)
    if want_pre and pre not in want_pre:
        sys.exit(f"{gguf_path}: tokenizer.ggml.pre is {pre!r}; this config is for {want_pre}")
    tj = build_tokenizer_json(tokens, merges, types)
    tok = Tokenizer.from_str(json.dumps(tj))
    return tok, tj


def encode(tok, text, special=True):
    tok.encode_special_tokens = not special
    try:
        return tok.encode(text, add_special_tokens=False).ids
    finally:
        tok.encode_special_tokens = False


# ---- the lines -------------------------------------------------------------

PROSE = [
    # English, with the contractions GPT-2's regex knows (lower case only)
    "The quick brown fox jumps over the lazy dog.",
    "She said, \"I don't think it's going to rain today,\" and left without an umbrella.",
    "Wait... what?! You've GOT to be kidding me.",
    "It's a well-known fact: cats've always ruled the internet, haven't they?",
    "THEY'RE HERE. WE'LL SEE. I'M DONE. HE'D KNOW. IT'S FINE.",
    "rock'n'roll, o'clock, ma'am, y'all'd've, 'tis, 'twas",
    "Don\u2019t use curly quotes \u2014 they\u2019re \u201csmart\u201d but \u2018tricky\u2019.",
    "Hello world",
    " Hello world",
    "Hello World!",
    "Hello, y'all! How are you \U0001F601 ?",
    "A man, a plan, a canal: Panama.",
    "To be, or not to be, that is the question:",
    "Colorless green ideas sleep furiously.",
    "The year's at the spring / And day's at the morn;",
    "I've seen things you people wouldn't believe.",
    "mississippi banana bookkeeper committee aaaaaaaaaaaa",
    "Supercalifragilisticexpialidocious antidisestablishmentarianism",
    "e.g. i.e. etc. vs. Mr. Mrs. Dr. St. a.m. p.m.",
    "U.S.A. U.K. N.A.S.A. -- abbreviations with dots",
    "camelCaseIdentifier snake_case_identifier kebab-case-identifier SCREAMING_SNAKE",
    "HTTPServerError XMLHttpRequest iPhone eBay McDonald's O'Reilly",
    "(parenthesised) [bracketed] {braced} <angled> \u00abguillemets\u00bb \u201equoted\u201c",
    "Punctuation!!! ??? ... --- ;;; ::: ,,, ''' \"\"\" ``` ~~~ ^^^",
    "!!!!!!",
    "' era",
    " (",
    "\n =",
    " discards",
    "ied 4 \u00bd months",
    # French, German, Spanish, Portuguese, Italian, Dutch
    "L'\u00e9t\u00e9 dernier, nous sommes all\u00e9s \u00e0 No\u00ebl chez ma grand-m\u00e8re \u2014 c'\u00e9tait tr\u00e8s agr\u00e9able !",
    "O\u00f9 est la biblioth\u00e8que ? Je ne sais pas, demande \u00e0 l'h\u00f4tel.",
    "Qu'est-ce que c'est ? \u00ab C'est la vie \u00bb, r\u00e9pondit-il.",
    "Die Gr\u00f6\u00dfe des Stra\u00dfenbahnfahrplans \u00fcberraschte J\u00fcrgen au\u00dferordentlich.",
    "Donaudampfschifffahrtsgesellschaftskapit\u00e4nsm\u00fctze",
    "F\u00fchrer",
    "\u00bfD\u00f3nde est\u00e1 el ba\u00f1o? \u00a1Necesito ayuda, por favor!",
    "El ni\u00f1o comi\u00f3 pi\u00f1a y jalape\u00f1os en el a\u00f1o 2023.",
    "N\u00e3o h\u00e1 cora\u00e7\u00e3o que aguente tanta emo\u00e7\u00e3o, disse Jo\u00e3o.",
    "Perch\u00e9 la citt\u00e0 \u00e8 cos\u00ec affollata? Perch\u00e9 \u00e8 ferragosto.",
    "Het ijsje was lekker, maar de fiets stond nog buiten in de regen.",
    # Central/Eastern European, Turkish, Vietnamese, Nordic
    "Za\u017c\u00f3\u0142\u0107 g\u0119\u015bl\u0105 ja\u017a\u0144 \u2014 pchn\u0105\u0107 w t\u0119 \u0142\u00f3d\u017a je\u017ca lub o\u015bm skrzy\u0144 fig.",
    "P\u0159\u00edli\u0161 \u017elu\u0165ou\u010dk\u00fd k\u016f\u0148 \u00fap\u011bl \u010f\u00e1belsk\u00e9 \u00f3dy.",
    "\u0130stanbul'da \u0131l\u0131k bir sabah; \u00c7\u011e\u0130\u00d6\u015e\u00dc \u00e7\u011f\u0131\u00f6\u015f\u00fc.",
    "Ti\u1ebfng Vi\u1ec7t c\u00f3 nhi\u1ec1u d\u1ea5u thanh: \u00e0, \u00e1, \u1ea3, \u00e3, \u1ea1.",
    "C\u1eeda Vi\u1ec7t",
    "\u00deetta reddast \u2014 sag\u00f0i \u00c1sgeir vi\u00f0 \u00f6mmu s\u00edna.",
    "\u00c1rv\u00edzt\u0171r\u0151 t\u00fck\u00f6rf\u00far\u00f3g\u00e9p",
    "Hyv\u00e4\u00e4 huomenta! Mit\u00e4 kuuluu?",
    "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch",
    "\u0218tiin\u021bele \u0219i \u00eenv\u0103\u021b\u0103m\u00e2ntul rom\u00e2nesc \u2014 \u0103, \u00e2, \u00ee, \u0219, \u021b.",
    "Bl\u00e5b\u00e6rsyltet\u00f8y og r\u00f8dgr\u00f8d med fl\u00f8de.",
    # Cyrillic
    "\u0421\u044a\u0435\u0448\u044c \u0436\u0435 \u0435\u0449\u0451 \u044d\u0442\u0438\u0445 \u043c\u044f\u0433\u043a\u0438\u0445 \u0444\u0440\u0430\u043d\u0446\u0443\u0437\u0441\u043a\u0438\u0445 \u0431\u0443\u043b\u043e\u043a, \u0434\u0430 \u0432\u044b\u043f\u0435\u0439 \u0447\u0430\u044e.",
    "\u041c\u043e\u0441\u043a\u0432\u0430 \u2014 \u0441\u0442\u043e\u043b\u0438\u0446\u0430 \u0420\u043e\u0441\u0441\u0438\u0438; \u043d\u0430\u0441\u0435\u043b\u0435\u043d\u0438\u0435 \u043e\u043a\u043e\u043b\u043e 13 \u043c\u043b\u043d \u0447\u0435\u043b\u043e\u0432\u0435\u043a.",
    "\u0413\u0435\u0439, \u0445\u043b\u043e\u043f\u0446\u0456, \u0432\u0441\u0442\u0430\u0432\u0430\u0439\u043c\u043e! \u0490\u0430\u043d\u043e\u043a, \u0457\u0436\u0430\u043a, \u0454\u043d\u043e\u0442.",
    "\u043d\u0435\u0449\u043e \u043d\u0430 \u0411\u044a\u043b\u0433\u0430\u0440\u0441\u043a\u0438",
    "\u0402\u043e\u0440\u0452\u0435 \u0458\u0435 \u0458\u0435\u043e \u045b\u0435\u0432\u0430\u043f\u0435 \u0443 \u0411\u0435\u043e\u0433\u0440\u0430\u0434\u0443.",
    "\u049a\u0430\u0437\u0430\u049b\u0441\u0442\u0430\u043d \u0420\u0435\u0441\u043f\u0443\u0431\u043b\u0438\u043a\u0430\u0441\u044b \u2014 \u041e\u0440\u0442\u0430\u043b\u044b\u049b \u0410\u0437\u0438\u044f\u0434\u0430\u0493\u044b \u043c\u0435\u043c\u043b\u0435\u043a\u0435\u0442.",
    "\u041f\u0420\u0418\u0412\u0415\u0422, \u041a\u0410\u041a \u0414\u0415\u041b\u0410? \u0412\u0441\u0451 \u0445\u043e\u0440\u043e\u0448\u043e, \u0441\u043f\u0430\u0441\u0438\u0431\u043e!",
    "\u041c\u043e\u043d\u0433\u043e\u043b \u0423\u043b\u0441\u044b\u043d \u043d\u0438\u0439\u0441\u043b\u044d\u043b \u0423\u043b\u0430\u0430\u043d\u0431\u0430\u0430\u0442\u0430\u0440",
    # Greek, Armenian, Georgian, Hebrew
    "\u039e\u03b5\u03c3\u03ba\u03b5\u03c0\u03ac\u03b6\u03c9 \u03c4\u03b7\u03bd \u03c8\u03c5\u03c7\u03bf\u03c6\u03b8\u03cc\u03c1\u03b1 \u03b2\u03b4\u03b5\u03bb\u03c5\u03b3\u03bc\u03af\u03b1. \u039a\u03b1\u03bb\u03b7\u03bc\u03ad\u03c1\u03b1 \u03ba\u03cc\u03c3\u03bc\u03b5!",
    "\u0532\u0561\u0580\u0587 \u0561\u0577\u056d\u0561\u0580\u0570, \u056b\u0576\u0579\u057a\u0565\u057d \u0565\u057d:",
    "\u10d2\u10d0\u10db\u10d0\u10e0\u10ef\u10dd\u10d1\u10d0 \u10db\u10e1\u10dd\u10e4\u10da\u10d8\u10dd",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd! \u05de\u05d4 \u05e9\u05dc\u05d5\u05de\u05da \u05d4\u05d9\u05d5\u05dd?",
    "\u05d1\u05b0\u05bc\u05e8\u05b5\u05d0\u05e9\u05b4\u05c1\u05d9\u05ea \u05d1\u05b8\u05bc\u05e8\u05b8\u05d0 \u05d0\u05b1\u05dc\u05b9\u05d4\u05b4\u05d9\u05dd",
    # Arabic script
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645! \u0643\u064a\u0641 \u062d\u0627\u0644\u0643 \u0627\u0644\u064a\u0648\u0645\u061f",
    "\u0627\u0644\u0644\u064f\u0651\u063a\u064e\u0629\u064f \u0627\u0644\u0639\u064e\u0631\u064e\u0628\u0650\u064a\u064e\u0651\u0629\u064f \u062c\u064e\u0645\u0650\u064a\u0644\u064e\u0629\u064c \u062c\u0650\u062f\u064b\u0651\u0627.",
    "\u0641\u064a \u0639\u0627\u0645 \u0662\u0660\u0662\u0664 \u0632\u0627\u0631 \u0661\u0665\u0660\u0660 \u0634\u062e\u0635 \u0627\u0644\u0645\u062a\u062d\u0641.",
    "\u0633\u0644\u0627\u0645 \u062f\u0646\u06cc\u0627\u061b \u0627\u0645\u0631\u0648\u0632 \u06f1\u06f4\u06f0\u06f3/\u06f0\u06f5/\u06f1\u06f2 \u0627\u0633\u062a.",
    "\u0627\u0631\u062f\u0648 \u0627\u06cc\u06a9 \u062e\u0648\u0628\u0635\u0648\u0631\u062a \u0632\u0628\u0627\u0646 \u06c1\u06d2\u06d4",
    "\u0627\u0644\u0642\u0627\u0647\u0631\u0629 \u0647\u064a \u0639\u0627\u0635\u0645\u0629 \u0645\u0635\u0631\u060c \u0648\u064a\u0628\u0644\u063a \u0639\u062f\u062f \u0633\u0643\u0627\u0646\u0647\u0627 22 \u0645\u0644\u064a\u0648\u0646 \u0646\u0633\u0645\u0629.",
    "\u0643\u062a\u0628 \u0623\u062d\u0645\u062f: \"\u0627\u0644\u0628\u0631\u0645\u062c\u0629 \u0645\u0645\u062a\u0639\u0629\" \u2014 \u0648\u0647\u0630\u0627 \u0635\u062d\u064a\u062d!",
    # Indic
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e! \u0906\u092a \u0915\u0948\u0938\u0947 \u0939\u0948\u0902?",
    "\u092d\u093e\u0930\u0924 \u0915\u0940 \u0930\u093e\u091c\u0927\u093e\u0928\u0940 \u0928\u0908 \u0926\u093f\u0932\u094d\u0932\u0940 \u0939\u0948 \u0914\u0930 \u091c\u0928\u0938\u0902\u0916\u094d\u092f\u093e \u0967\u096a\u0966 \u0915\u0930\u094b\u0921\u093c \u0939\u0948\u0964",
    "\u0939\u093f\u0928\u094d\u0926\u0940 \u092e\u0947\u0902 \u0915\u094d\u0937, \u0924\u094d\u0930, \u091c\u094d\u091e \u0938\u0902\u092f\u0941\u0915\u094d\u0924 \u0905\u0915\u094d\u0937\u0930 \u0939\u0948\u0902\u0964",
    "\u092e\u0930\u093e\u0920\u0940 \u092d\u093e\u0937\u093e \u0938\u0941\u0902\u0926\u0930 \u0906\u0939\u0947.",
    "\u0986\u09ae\u09bf \u09ac\u09be\u0982\u09b2\u09be\u09af\u09bc \u0997\u09be\u09a8 \u0997\u09be\u0987\u0964",
    "\u0bb5\u0ba3\u0b95\u0bcd\u0b95\u0bae\u0bcd \u0b89\u0bb2\u0b95\u0bae\u0bcd",
    "\u0c24\u0c46\u0c32\u0c41\u0c17\u0c41 \u0c2d\u0c3e\u0c37 \u0c1a\u0c3e\u0c32\u0c3e \u0c2e\u0c27\u0c41\u0c30\u0c2e\u0c48\u0c28\u0c26\u0c3f",
    "\u0a38\u0a24 \u0a38\u0a4d\u0a30\u0a40 \u0a05\u0a15\u0a3e\u0a32",
    "\u0d2e\u0d32\u0d2f\u0d3e\u0d33\u0d02 \u0d12\u0d30\u0d41 \u0d26\u0d4d\u0d30\u0d3e\u0d35\u0d3f\u0d21 \u0d2d\u0d3e\u0d37\u0d2f\u0d3e\u0d23\u0d4d",
    "\u0d86\u0dba\u0dd4\u0db6\u0ddd\u0dc0\u0db1\u0dca",
    # South-East Asian
    "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e0a\u0e32\u0e27\u0e42\u0e25\u0e01 \u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\u0e44\u0e21\u0e48\u0e21\u0e35\u0e0a\u0e48\u0e2d\u0e07\u0e27\u0e48\u0e32\u0e07\u0e23\u0e30\u0e2b\u0e27\u0e48\u0e32\u0e07\u0e04\u0e33",
    "\u0eaa\u0eb0\u0e9a\u0eb2\u0e8d\u0e94\u0eb5",
    "\u1780\u17b6\u1793\u17cb\u178f\u17c2\u1796\u17b7\u179f\u17c1\u179f\u17a2\u17b6\u1785\u1781\u179b\u1785\u17c1\u1789",
    "\u1019\u1004\u103a\u1039\u1002\u101c\u102c\u1015\u102b",
    "Xin ch\u00e0o, t\u00f4i l\u00e0 sinh vi\u00ean \u0111\u1ea1i h\u1ecdc.",
    "Selamat pagi! Apa kabar? Saya baik-baik saja.",
    # CJK
    "\u6211\u60f3\u5728apple\u5de5\u4f5c1314151\u5929\uff5e",
    "\u4eca\u5929\u5929\u6c14\u5f88\u597d\uff0c\u6211\u4eec\u53bb\u516c\u56ed\u6563\u6b65\u5427\u3002",
    "\u4e2d\u534e\u4eba\u6c11\u5171\u548c\u56fd\u6210\u7acb\u4e8e1949\u5e7410\u67081\u65e5\u3002",
    "\u81fa\u7063\u7684\u591c\u5e02\u975e\u5e38\u71b1\u9b27\uff0c\u5c0f\u5403\u7a2e\u985e\u7e41\u591a\u3002",
    "\u4f60\u597d\uff0c\u4e16\u754c\uff01\u8fd9\u662f\u4e00\u4e2a\u6d4b\u8bd5\u3002",
    "\u300a\u7ea2\u697c\u68a6\u300b\u662f\u4e2d\u56fd\u53e4\u5178\u5c0f\u8bf4\u7684\u5dc5\u5cf0\u4e4b\u4f5c\u3002",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3068\u30ab\u30bf\u30ab\u30ca\u3001\u3072\u3089\u304c\u306a\u3001\u6f22\u5b57\u304c\u6df7\u3056\u3063\u3066\u3044\u307e\u3059\u3002",
    "\u6771\u4eac\u30b9\u30ab\u30a4\u30c4\u30ea\u30fc\u306f\u9ad8\u3055634\u30e1\u30fc\u30c8\u30eb\u3067\u3059\u3002",
    "\uff8a\uff9d\uff76\uff78\uff76\uff80\uff76\uff85 \u3068 \u5168\u89d2\u30ab\u30bf\u30ab\u30ca \u30fc",
    "\u543e\u8f29\u306f\u732b\u3067\u3042\u308b\u3002\u540d\u524d\u306f\u307e\u3060\u7121\u3044\u3002",
    "\uc548\ub155\ud558\uc138\uc694, \uc138\uacc4! \ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8\uc785\ub2c8\ub2e4.",
    "\uc11c\uc6b8\ud2b9\ubcc4\uc2dc \uac15\ub0a8\uad6c \ud14c\ud5e4\ub780\ub85c 152",
    "\u3131\u3134\u3137 \u314f\u3151\u3153 \u1100\u1161\u11a8 (jamo)",
    # Africa, Americas, others
    "\u1230\u120b\u121d \u1208\u12d3\u1208\u121d",
    "Habari za asubuhi? Nzuri sana, asante.",
    "\u1eb8 k\u00fa \u00e0\u00e1r\u1ecd\u0300, \u1e63\u00e9 d\u00e1ad\u00e1a ni?",
    "\u02bb\u014clelo Hawai\u02bbi",
    "\u0108u vi parolas Esperanton? E\u0125o\u015dan\u011do \u0109iu\u0135a\u016dde.",
    "\u0f56\u0f40\u0fb2\u0f0b\u0f64\u0f72\u0f66\u0f0b\u0f56\u0f51\u0f7a\u0f0b\u0f63\u0f7a\u0f42\u0f66\u0f0d",
    "\u13e3\u13b3\u13a9 \u13a6\u13ec\u13c2\u13af\u13cd\u13d7",
    "\u1403\u14c4\u1483\u144e\u1450\u1466",
    "Hello \u043c\u0438\u0440 \u4e16\u754c \u0639\u0627\u0644\u0645 \u0926\u0941\u0928\u093f\u092f\u093e \u05e2\u05d5\u05dc\u05dd \u03ba\u03cc\u03c3\u03bc\u03bf\u03c2",
    # combining marks, math, styled letters
    "e\u0301 vs \u00e9; n\u0303 vs \u00f1; a\u0308\u0301 stacked",
    "Z\u0351\u036b\u0343a\u0352l\u0310g\u0300o\u0360 text \u0338",
    "\u2200x\u2208\u211d: x\u00b2 \u2265 0 \u21d2 \u221a(x\u00b2) = |x|",
    "\u222b\u2080\u00b9 f(x) dx \u2248 \u2211\u1d62 f(x\u1d62)\u0394x, \u2202f/\u2202x \u2260 0",
    "\U0001d407\U0001d41e\U0001d425\U0001d425\U0001d428 \U0001d54e\U0001d560\U0001d563\U0001d55d\U0001d555 \U0001d4ae\U0001d4b8\U0001d4c7\U0001d4be\U0001d4c5\U0001d4c9",
    "\uff21\uff22\uff23\uff11\uff12\uff13\uff01\uff1f \uff48\uff45\uff4c\uff4c\uff4f",
    "\u2460\u2461\u2462 \u2474\u2475 \u2488\u2489 \u24b6\u24b7",
    "\u216b \u217b \u2163 \u2167 (Roman numeral letters)",
    "x\u00b2 + y\u00b3 = z\u2074; H\u2082O; 10\u207b\u2079",
    "\u00bd \u2153 \u00bc \u00be \u215e",
    "\u2500\u2500\u252c\u2500\u2500 \u2502 \u251c\u2500\u2524 \u2514\u2500\u2518 \u2588\u2593\u2592\u2591",
    "\u2190 \u2191 \u2192 \u2193 \u2194 \u21a9 \u27f6 \u2934",
    "\u00a9 2024 ACME\u00ae \u2122 \u00a7 4.2 \u00b6 \u2020 \u2021 \u2030 \u2116",
    "\u20ac 5 \u00a3 3 \u00a5 100 \u20b9 250 \u20bd 90 \u20a9 1000 \u20bf 0.5 $ 9",
    "\u266a\u266b \u2660\u2663\u2665\u2666 \u2605\u2606 \u2713\u2717 \u262f",
    "\u0300\u0301 (a line that starts with combining marks)",
]

CODE = [
    "int main(void) { return 0; }",
    "#include <stdio.h>\nint main(int argc, char **argv) {\n    printf(\"%s\\n\", argv[0]);\n    return 0;\n}",
    "static inline uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }",
    "for (size_t i = 0; i < n; i++) sum += a[i] * b[i];",
    "#define MAX(a, b) ((a) > (b) ? (a) : (b))",
    "if (ptr == NULL && errno != EINTR) goto fail; // TODO: handle ENOMEM",
    "def foo(x):\n    return x ** 2  # square",
    "import numpy as np\narr = np.zeros((3, 4), dtype=np.float32)\nprint(arr.shape)",
    "class Point:\n    def __init__(self, x, y):\n        self.x, self.y = x, y\n\n    def __repr__(self):\n        return f\"Point({self.x!r}, {self.y!r})\"",
    "lambda xs: [x for x in xs if x % 2 == 0]",
    "with open('data.txt', 'r', encoding='utf-8') as f:\n\tlines = f.read().splitlines()",
    "@dataclass(frozen=True)\nclass Config:\n    name: str = \"default\"\n    retries: int = 3",
    "async def fetch(session, url):\n    async with session.get(url) as resp:\n        return await resp.json()",
    "const add = (a, b) => a + b;",
    "document.querySelectorAll('.item').forEach(el => el.classList.toggle('active'));",
    "export default function App({ children }) {\n  return <div className=\"app\">{children}</div>;\n}",
    "let x = obj?.deeply?.nested ?? 'fallback'; x ||= 42; y &&= z;",
    "console.log(`Hello, ${name}! You have ${count} new messages.`);",
    "fn main() {\n    let v: Vec<i32> = (1..=10).filter(|x| x % 2 == 0).collect();\n    println!(\"{:?}\", v);\n}",
    "impl<'a, T: Clone + Send> Iterator for Foo<'a, T> { type Item = &'a T; }",
    "match result { Ok(v) => v, Err(e) => return Err(e.into()), }",
    "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hello, world\")\n}",
    "if err != nil {\n\t\treturn fmt.Errorf(\"open %s: %w\", path, err)\n\t}",
    "public static void main(String[] args) { System.out.println(\"Hi\"); }",
    "List<Map<String, Integer>> rows = new ArrayList<>();",
    "SELECT id, name, COUNT(*) AS n FROM users WHERE created_at >= '2024-01-01' GROUP BY id HAVING n > 1 ORDER BY n DESC;",
    "INSERT INTO t (a, b) VALUES (1, 'it''s'), (2, NULL);",
    "#!/usr/bin/env bash\nset -euo pipefail\nfor f in *.txt; do echo \"$f\"; done",
    "grep -rnE '^[a-z]+_[0-9]{2,}$' /var/log/*.log | sort -u | wc -l",
    "curl -sSL -H 'Authorization: Bearer $TOKEN' https://api.example.com/v1/items?limit=10&offset=20",
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Test</title></head>\n</html>",
    "<a href=\"https://example.com/path?q=1&amp;r=2#frag\" target=\"_blank\">link</a>",
    ".container > .row:nth-child(2n+1)::before { content: \"\\201C\"; color: #ff00aa; margin: 0 auto; }",
    "{\"name\": \"hearth\", \"version\": \"1.0.0\", \"tags\": [\"c\", \"ai\"], \"nested\": {\"ok\": true, \"n\": null}}",
    "server:\n  port: 8080\n  hosts:\n    - alpha.local\n    - beta.local\n  tls: false",
    "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"",
    "main :: IO ()\nmain = mapM_ print $ take 10 $ filter even [1..]",
    "(defun fact (n) (if (<= n 1) 1 (* n (fact (- n 1)))))",
    "puts [1, 2, 3].map { |x| x * 2 }.inject(:+)",
    "<?php echo htmlspecialchars($_GET['q'] ?? '', ENT_QUOTES); ?>",
    "my ($a, $b) = @_; $h{$k} //= []; s/\\s+$//g;",
    "\\begin{equation}\n  E = mc^2 \\quad \\text{and} \\quad \\int_0^\\infty e^{-x^2}\\,dx = \\frac{\\sqrt{\\pi}}{2}\n\\end{equation}",
    "all: build\n\nbuild:\n\t$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)",
    "mov rax, [rbp-8]\nadd rax, 0x10\njmp .L3",
    "vmovups ymm0, YMMWORD PTR [rdi+rax*4]\nvfmadd231ps ymm1, ymm0, ymm2",
    "x = 0xDEADBEEF; y = 0b1010_1010; z = 0o755; w = 1_000_000; f = 1e-9; g = .5f;",
    "/* block comment */ // line comment # shell comment -- sql comment ; lisp comment",
    "a==b a!=b a<=b a>=b a->b a=>b a::b a<<=b a>>=b a**=b a//b a...b a..=b",
    "regex = r\"^(?P<user>[\\w.+-]+)@(?P<host>[\\w-]+\\.)+[a-z]{2,}$\"",
    "printf(\"%-10s|%08.3f|%+d|%x|%%\\n\", s, f, i, u);",
    "    \n    indented after a blank line\n\t\tand tabs",
    "def f():\n\tif True:\n\t\treturn [\n\t\t\t1,\n\t\t]\n",
    "    return 0;\r\n}\r\n",
    "  - item one\n  - item two\n    - nested item\n1. first\n2. second",
    "# Heading\n\nSome **bold** and _italic_ text with `code` and a [link](https://example.org).",
    "| col A | col B |\n|------:|:------|\n| 1.5   | x     |",
    "```python\nprint('fenced')\n```",
    "git commit -m \"Fix: handle \\\"quoted\\\" paths\" && git push origin HEAD:refs/for/main",
    "docker run --rm -it -v \"$PWD\":/src -p 127.0.0.1:8080:80 nginx:1.25-alpine",
    "C:\\Users\\J\u00fcrgen\\Documents\\report_v2 (final).docx",
    "/usr/local/lib/python3.11/site-packages/__pycache__/mod.cpython-311.pyc",
    "user.name+tag@sub.example.co.uk, mailto:info@example.com",
    "https://en.wikipedia.org/wiki/Tokenization_(lexical_analysis)#Rules",
    "ftp://anonymous:pass@ftp.example.net:21/pub/file-1.2.3.tar.gz",
    "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a",
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
    "sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "UUID 123e4567-e89b-12d3-a456-426614174000 and MAC 00:1A:2b:3C:4d:5E",
    "__init__ __name__ == '__main__' ____ _ __ ___",
    "a_b-c.d/e\\f|g~h`i^j",
    "&&||!!??;;::,,..@@##$$%%^^&&**(())[[]]{{}}<<>>",
    "=== --- +++ *** ### ~~~ ___ ... ''' \"\"\"",
    "\u00a0\u00a0\u00a0\u00a0int x = 1;  // indented with non-breaking spaces",
    "let \u03bb = |\u03b1, \u03b2| \u03b1 + \u03b2; // Greek identifiers",
    "\u53d8\u91cf = 42  # Chinese identifier in Python",
]

# emoji: ZWJ sequences, skin tones, flags, keycaps, tags, presentation selectors
EMOJI = [
    "\U0001F600", "\U0001F44D\U0001F3FD", "\U0001F469\u200D\U0001F4BB",
    "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466",
    "\U0001F3F3\uFE0F\u200D\U0001F308", "\U0001F3F4\u200D\u2620\uFE0F",
    "\U0001F1FA\U0001F1F8", "\U0001F1EF\U0001F1F5", "\U0001F1E9\U0001F1EA", "\U0001F1E7\U0001F1F7",
    "\U0001F1EE\U0001F1F3", "\U0001F1FA\U0001F1E6",
    "\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F",
    "1\uFE0F\u20E3", "#\uFE0F\u20E3", "*\uFE0F\u20E3", "\u2764\uFE0F", "\u2764", "\u2665\uFE0F",
    "\U0001F9D1\U0001F3FF\u200D\U0001F91D\u200D\U0001F9D1\U0001F3FB",
    "\U0001F441\uFE0F\u200D\U0001F5E8\uFE0F", "\U0001F999", "\U0001FAE0", "\U0001F90C\U0001F3FC",
    "\U0001F9D1\u200D\U0001F680", "\U0001F415\u200D\U0001F9BA", "\u263A\uFE0E", "\u263A\uFE0F",
    "\u00A9\uFE0F", "\u00AE\uFE0F", "\u2122\uFE0F", "\U0001F004", "\U0001F0CF",
    "\U0001F680", "\U0001F636\u200D\U0001F32B\uFE0F", "\u2705", "\U0001F525", "\U0001F4AF",
    "\U0001F64F\U0001F3FB", "\U0001F3C3\U0001F3FE\u200D\u2640\uFE0F", "\U0001F46E\u200D\u2642\uFE0F",
    "\U0001F469\U0001F3FC\u200D\u2764\uFE0F\u200D\U0001F48B\u200D\U0001F468\U0001F3FD",
    "\U0001F408\u200D\u2B1B", "\U0001F43B\u200D\u2744\uFE0F", "\U0001F602\U0001F602\U0001F602",
    "\U0001F923", "\U0001F97A", "\U0001F9E0", "\U0001FAE1", "\U0001F31F", "\u2B50", "\u26A1",
    "\U0001F389\U0001F38A", "\U0001F355", "\U0001F363", "\U0001F1E6", "\U0001F3FB",
]

EMOJI_LINES = [
    "\U0001F680 (normal) \U0001F636\u200D\U0001F32B\uFE0F (multiple emojis concatenated) \u2705 (only emoji that has its own token)",
    " this is \U0001F999.cpp",
    "Emoji: \U0001F600\U0001F44D\U0001F3FD\U0001F1FA\U0001F1F8 and \u2764\uFE0F",
    "Great job!!! \U0001F44F\U0001F44F\U0001F44F See you at 10:30 \U0001F570\uFE0F",
    "I \u2764\uFE0F NY, \U0001F1EB\U0001F1F7 Paris, and \U0001F1EF\U0001F1F5 Tokyo",
    "Family: \U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466 / \U0001F469\u200D\U0001F469\u200D\U0001F466 / \U0001F468\u200D\U0001F466",
    "Skin tones: \U0001F44B\U0001F3FB\U0001F44B\U0001F3FC\U0001F44B\U0001F3FD\U0001F44B\U0001F3FE\U0001F44B\U0001F3FF",
    "keycaps 0\uFE0F\u20E3 1\uFE0F\u20E3 2\uFE0F\u20E3 3\uFE0F\u20E3 4\uFE0F\u20E3 \U0001F51F",
    "flags in a row: \U0001F1E8\U0001F1E6\U0001F1F2\U0001F1FD\U0001F1FA\U0001F1F8\U0001F1E7\U0001F1F7\U0001F1E6\U0001F1F7",
    "a lone regional indicator \U0001F1FF and an odd count \U0001F1FA\U0001F1F8\U0001F1EC",
    "emoji\U0001F600without\U0001F600spaces\U0001F600between",
    "\U0001F4CA Q3 revenue: +12.5% \U0001F4C8 vs Q2 \U0001F4C9",
    "\U0001F9EA test \u2192 \u2705 pass / \u274C fail / \u26A0\uFE0F warn",
    "\u270C\U0001F3FD\u270D\U0001F3FF\u261D\U0001F3FB (text-style base + tone)",
]

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<reponame>",
            "<file_sep>", "<filename>", "<gh_stars>", "<issue_start>", "<issue_comment>",
            "<issue_closed>", "<jupyter_start>", "<jupyter_text>", "<jupyter_code>",
            "<jupyter_output>", "<jupyter_script>", "<empty_output>"]

SPECIAL_LINES = [
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n",
    "Text with <|im_start|> in the middle and <|im_end|> near the end.",
    "<|im_start|><|im_end|><|endoftext|>",
    "<|im_start|<|im_end|>>",
    "<<|im_start|>>",
    "<|im_start |> <| im_start|> <|IM_START|> <|im-start|> <im_start>",
    "< |im_start|> <|im_start| > |im_start| im_start <|im_star",
    "<|endoftext|>The end.<|endoftext|>",
    "<|endoftext|><|endoftext|><|endoftext|>",
    " <|endoftext|> ",
    "  <|im_end|>  ",
    "\n<|im_end|>\n",
    "abc<|im_end|>def",
    "123<|im_start|>456",
    "\U0001F600<|im_end|>\U0001F600",
    "<filename>src/main.c<file_sep>int main() {}",
    "<reponame>hearth<gh_stars>100-1000<filename>README.md",
    "<issue_start>Bug: crash on empty input<issue_comment>Fixed in #42<issue_closed>",
    "<jupyter_start><jupyter_code>print(1)<jupyter_output>1<empty_output>",
    "<jupyter_text>Some markdown<jupyter_script>x = 1",
    "<repo_name> <reponame> <repo_name><reponame>",
    "<|endoftext|> is the end-of-text token; <s> and </s> and <unk> and <pad> are not SmolLM2's",
    "[INST] <<SYS>> not special here <</SYS>> [/INST] <|eot_id|> <|start_header_id|>",
    "<|im_start|>user\r\nWindows line ends\r\n<|im_end|>\r\n",
    "&lt;|im_start|&gt; escaped, %3C%7Cim_start%7C%3E url-encoded, \\<\\|im_start\\|\\>",
    "<|im_start|>\u200b<|im_end|> (zero-width space between)",
    "\uff1c|im_start|\uff1e fullwidth angle brackets",
    "<|endoftext|>\u0301 combining mark after a special",
]

# seeds the composed lines are made from
WORDS = ["hello", "world", "token", "naïve", "café", "Straße", "данные", "мир", "世界", "東京",
         "서울", "مرحبا", "नमस्ते", "θάλασσα", "שלום", "ok", "I", "a", "the", "don't", "it's",
         "we'll", "x", "foo_bar", "fooBar", "v2", "GPT-4", "C++", "C#", ".NET", "node.js",
         "\u00e9t\u00e9", "\u00fcber", "ni\u00f1o", "\u0142\u00f3d\u017a", "\u0130stanbul",
         "\u0e44\u0e17\u0e22", "\u1780\u17d2\u1798\u17c2\u179a", "\u0986\u09ae\u09bf", "Ελλάδα",
         "Київ", "Ёжик", "北京", "カタカナ", "ひらがな", "한국", "O'Neil", "rock'n'roll"]
NUMBERS_SHAPES = ["0", "7", "42", "100", "1,000", "1.000", "1 000", "1\u00a0000", "1\u202f000",
                  "3.14159", "-0.5", "+12", "1e10", "6.022e23", "1.5E-7", "0.000001", "007",
                  "2024-06-30", "30/06/2024", "06.30.2024", "12:34:56", "10:30am", "1st", "2nd",
                  "3rd", "4th", "21st", "v1.2.3", "192.168.0.1", "::1", "$9.99", "\u20ac1.234,56",
                  "50%", "3/4", "1:2", "#1", "No. 5", "x86_64", "2^32", "10\u00b3", "\u00bd",
                  "\u0663\u0664", "\u096b\u096c", "\uff17\uff18", "\u2167", "\u2460",
                  "1234567890", "99999999999999999999", "0.1+0.2", "-273.15\u00b0C", "98.6\u00b0F"]
SEPARATORS = [" ", " ", " ", "", "  ", "   ", "\t", "\n", "\r\n", "\u00a0", "\u3000", ", ", ". ",
              " - ", "/", "_", "\u200b", "\n\n", " \n", "\t\t", "    ", "\u2009", "\u202f",
              "\u2028", "\r", "\u000b", "\u000c", "\u0085"]

# characters that are white space, or look like it, for the whitespace lines
SPACES = {
    "space": " ", "tab": "\t", "LF": "\n", "CR": "\r", "CRLF": "\r\n", "VT": "\u000b",
    "FF": "\u000c", "NEL": "\u0085", "NBSP": "\u00a0", "ogham": "\u1680", "MVS": "\u180e",
    "en quad": "\u2000", "em space": "\u2003", "figure space": "\u2007", "thin": "\u2009",
    "hair": "\u200a", "LSEP": "\u2028", "PSEP": "\u2029", "NNBSP": "\u202f", "MMSP": "\u205f",
    "ideographic": "\u3000", "ZWSP": "\u200b", "ZWNJ": "\u200c", "ZWJ": "\u200d",
    "word joiner": "\u2060", "BOM": "\ufeff", "soft hyphen": "\u00ad", "LRM": "\u200e",
    "RLM": "\u200f", "RLO": "\u202e", "NUL": "\u0000", "US": "\u001f", "DEL": "\u007f",
    "Braille blank": "\u2800", "Hangul filler": "\u3164",
}


def number_lines(rng):
    out = []
    # digit runs of every length to 64, then some long ones
    for n in list(range(1, 65)) + [80, 100, 128, 200, 333, 512]:
        digits = "".join(rng.choice("0123456789") for _ in range(n))
        if n <= 9:
            out.append("3" * n)
        out.append(digits)
    out.append("0" * 100)
    out.append("9" * 257)
    templates = [
        "The total was {} dollars.", "Call me at {}.", "Order #{} shipped", "{} items",
        "Set x={} and retry", "pi \u2248 {}", "Temperature: {}", "({})", "[{}]", "{}{}{}",
        "{} + {} = {}", "Version {} released", "ID:{}", "{}%", "~{}", "{}k", "{}x{}",
        "from {} to {}", "{}\u2013{}", "\u2212{}", "{}\u00a0km", "about {} people", "{}th",
        "page {} of {}", "{} \u00d7 {}", "{}/{}", "{}.{}.{}", "{}:{}", "{},{}", "{};{}",
    ]

    def rnum():
        k = rng.randrange(12)
        if k == 0:
            return str(rng.randrange(10))
        if k == 1:
            return str(rng.randrange(10 ** rng.randrange(2, 12)))
        if k == 2:
            return f"{rng.uniform(-1000, 1000):.{rng.randrange(1, 7)}f}"
        if k == 3:
            return f"{rng.randrange(1, 10 ** 9):,}"
        if k == 4:
            return f"{rng.uniform(0, 1):.2e}"
        if k == 5:
            return f"{rng.randrange(10 ** 6):,}".replace(",", ".")
        if k == 6:
            return f"{rng.randrange(10 ** 6):,}".replace(",", " ")
        if k == 7:
            return "0x" + "".join(rng.choice("0123456789abcdef") for _ in range(rng.randrange(1, 17)))
        if k == 8:
            return f"{rng.randrange(100)}.{rng.randrange(100)}.{rng.randrange(1000)}"
        if k == 9:
            return "-" + str(rng.randrange(1, 10 ** 5))
        if k == 10:
            return str(rng.randrange(1, 10 ** 4)) + "." + "0" * rng.randrange(1, 6)
        return "." + str(rng.randrange(1, 1000))

    for tpl in templates:
        for _ in range(3):
            out.append(tpl.format(*[rnum() for _ in range(tpl.count("{}"))]))
    # dates and times in many shapes
    fmts = ["%Y-%m-%d", "%d/%m/%Y", "%m/%d/%y", "%d.%m.%Y", "%Y%m%d", "%B %d, %Y", "%d %b %Y",
            "%A, %d %B %Y", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S.%f", "%H:%M", "%I:%M %p",
            "%Y/%m/%d", "%d-%b-%y", "%Y-W%W", "%j/%Y"]
    base = datetime.datetime(1970, 1, 1)
    for f in fmts:
        for _ in range(2):
            d = base + datetime.timedelta(seconds=rng.randrange(0, 2 ** 31),
                                          microseconds=rng.randrange(10 ** 6))
            out.append(d.strftime(f))
    out += [
        "On 2024-02-29 at 23:59:59.999+05:30 the leap second did not happen.",
        "Meeting moved from 9/11 to 11/9 (9:00\u201310:30 CET).",
        "1999-12-31T23:59:60Z is not a valid RFC 3339 timestamp",
        "Unix time 1700000000 is 2023-11-14 22:13:20 UTC.",
        "\u4ee4\u548c6\u5e744\u67081\u65e5 / 2024\u5e744\u67081\u65e5 / \ub2e8\uae30 4357\ub144",
        "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660 \u06f1\u06f2\u06f3\u06f4\u06f5",
        "\u0967\u0968\u0969\u096a\u096b\u096c\u096d\u096e\u096f\u0966 \u09e7\u09e8\u09e9 \u0be7\u0be8\u0be9 \u0e51\u0e52\u0e53",
        "\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff10",
        "\U0001d7ce\U0001d7cf\U0001d7d0 \U0001d7d8\U0001d7d9 (mathematical digits)",
        "\u00b9\u00b2\u00b3\u2074\u2075 \u2080\u2081\u2082\u2083 \u2460\u2461\u2462 \u2776\u2777 \u3220\u3221",
        "\u3007\u4e00\u4e8c\u4e09\u56db\u4e94\u516d\u4e03\u516b\u4e5d\u5341\u767e\u5343\u4e07\u5104",
        "MCMXCIV = 1994, MMXXIV = 2024, \u216f\u216d\u216e\u2160\u2160",
        "3.141592653589793238462643383279502884197169399375105820974944592307816406286",
        "2.718281828459045 1.4142135623730951 1.618033988749895 0.5772156649",
        "1,234,567.89 vs 1.234.567,89 vs 1 234 567,89 vs 12,34,567.89",
        "+1 (555) 123-4567, +44 20 7946 0958, +81-3-1234-5678",
        "4111 1111 1111 1111 exp 12/29 cvc 123",
        "IBAN DE89 3704 0044 0532 0130 00",
        "ISBN 978-3-16-148410-0, DOI 10.1000/182",
        "lat 48.858844\u00b0N, lon 2.294351\u00b0E; 40\u00b026\u203246\u2033N 79\u00b058\u203256\u2033W",
        "1e-5 1E+5 1e5 .5 5. 0.5e-0 -0 +0 NaN Infinity -Infinity",
        "0b1111_0000 0o17 0xFF_FF 1_000_000u64 3.0f32 10usize",
        "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
        "11 22 333 4444 55555 666666 7777777 88888888 999999999",
        "1.1.1.1 8.8.8.8 255.255.255.0 fe80::1ff:fe23:4567:890a",
        "v0.0.1-alpha.1+build.5 2.0.0-rc.2 1.2.3-beta",
        "3333", "33333", "333333", "3333333", "33333333", "333333333",
        "w048 7tuijk dsdfhu",
        "A1B2C3D4E5 a1b2c3 1a2b3c 123abc abc123 12ab34cd",
        "5\u00bd 3\u00bc 2\u2153 100\u2030 37\u00b0 45\u2032 30\u2033",
        "\u00a31,000,000.00 / \u00a5100,000 / \u20b91,00,000 / \u20a9\u200a50,000",
        "Chapter 3.2.1, Section 12(b)(iii), Article 7\u00a71",
    ]
    return out


def whitespace_lines(rng):
    out = []
    bases = ["Hello", "a b", "x", "hello world", "\u4f60\u597d", "\u043f\u0440\u0438\u0432\u0435\u0442",
             "42", "if (x) {", "\U0001F600", "'s"]
    for n in [1, 2, 3, 4, 5, 7, 8, 15, 16, 31, 64]:
        out.append(" " * n)
    out += ["\t", "\n", "\n\n", "\n\n\n", "\t\n", "\r", "\r\n", "\r\n\r\n", " \n", "\n ",
            " \t ", "\t \t", "\u00a0", "\u00a0\u00a0", "\u3000", " \u00a0 ", "\u200b",
            "\n\t\n", "\r\r\n\n", "    Hello\n    Hello", "  Hello", "   Hello", "    Hello",
            "Hello \n", "Hello\n\n\n\nworld", "a\r\nb\rc\nd", "trailing spaces   ",
            "   leading spaces", "  both sides  ", "multiple   internal    spaces",
            "tabs\tand\nnewlines\r\nmixed", "a\u000bb\u000cc", "line one\u2028line two\u2029para",
            "zero\u200bwidth\u200cnon\u200djoiner", "soft\u00adhyphen\u00adated",
            "\ufeffbyte order mark at start", "word\u2060joiner", "nbsp\u00a0between\u00a0words",
            "figure\u2007space thin\u2009space hair\u200aspace", "mongolian\u180evowel separator",
            "ogham\u1680space", "narrow\u202fno-break", "medium\u205fmath", "NEL\u0085next line",
            "NUL\u0000char", "bell\u0007and\u0008backspace\u001bescape", "DEL\u007fhere",
            "\u200e\u200fdirection marks\u202a\u202b\u202c\u202d\u202e", "Braille\u2800blank",
            "Hangul\u3164filler", "ideographic\u3000space\u3000here", "end with tab\t",
            "end with newline\n", "end with CR\r", "\n\nstarts with newlines",
            " " * 40 + "x" + " " * 40, "\t" * 10 + "deep", "x" + "\n" * 20 + "y",
            "a \u00a0 b \u3000 c \u2003 d", " \u0301 space then combining",
            "\u00a0\u00a0\u00a0", "\u2003\u2003", "\u200b\u200b\u200b", "\u3000\u3000a",
            "\t\t\t", "\r\r\r", "\n \n \n", " \t\n\r\u000b\u000c", "a\u0085\u0085b"]
    # each kind of space alone, doubled, leading, trailing and inside
    for name, s in SPACES.items():
        out.append(f"{s}{name}")
        out.append(f"{name}{s}")
        out.append(f"{name}{s}{s}x")
        out.append(f"1{s}2")
        out.append(f"\u4e00{s}\u4e8c")
        out.append(f".{s}!")
    # runs of spaces before words, digits, punctuation and line ends
    for base in bases:
        for _ in range(4):
            lead = " " * rng.randrange(0, 9)
            mid = rng.choice(SEPARATORS) * rng.randrange(1, 4)
            trail = rng.choice(["", " ", "  ", "\n", "\t", "\r\n", " \n", "\u00a0"])
            out.append(lead + base + mid + base + trail)
    return out


def special_lines(rng):
    out = list(SPECIAL_LINES)
    contexts = ["{}", " {}", "{} ", "x{}y", "\n{}\n", "{}{}", "Hello {} world", "{}\u4f60\u597d",
                "\u00e9{}\u00e9", "12{}34", "  {}  ", "\t{}", "'{}'", "\"{}\"", "({})", "{}.",
                "`{}`", "<{}>", "|{}|"]
    for sp in SPECIALS:
        for ctx in rng.sample(contexts, 4):
            out.append(ctx.format(*([sp] * ctx.count("{}"))))
        # near misses: a character dropped, changed or added
        out.append(sp[:-1])
        out.append(sp[1:])
        out.append(sp.upper())
        out.append(sp.replace("_", "-") if "_" in sp else sp.replace("|", "!"))
    return out


def emoji_lines(rng):
    out = list(EMOJI_LINES)
    out += EMOJI
    tpls = ["{} ", " {}", "I love it {}", "{}{}", "{} {} {}", "ok{}ok", "{}!", "123{}456",
            "{}\u4f60\u597d", "\u00e9t\u00e9 {}", "{}\n{}", "\u2014{}\u2014", "({})", "#{}",
            "{}'s", "{}  {}", "\t{}"]
    for _ in range(90):
        tpl = rng.choice(tpls)
        out.append(tpl.format(*[rng.choice(EMOJI) for _ in range(tpl.count("{}"))]))
    return out


def composed_lines(rng, n):
    """Lines made of fragments of every kind joined by every kind of
    separator: the cases nobody thought to write by hand."""
    pools = [WORDS, NUMBERS_SHAPES, EMOJI, SPECIALS, [p for p in PROSE if len(p) < 80],
             [c for c in CODE if len(c) < 60], list(SPACES.values())]
    weights = [30, 20, 10, 3, 12, 10, 4]
    out = []
    for _ in range(n):
        k = rng.randrange(2, 9)
        parts = []
        for _ in range(k):
            pool = rng.choices(pools, weights)[0]
            frag = rng.choice(pool)
            r = rng.random()
            if r < 0.08:
                frag = frag.upper()
            elif r < 0.12:
                frag = frag.capitalize()
            parts.append(frag)
            parts.append(rng.choice(SEPARATORS))
        line = "".join(parts[:-1])
        if rng.random() < 0.15:
            line = " " * rng.randrange(1, 4) + line
        if rng.random() < 0.15:
            line += rng.choice([" ", "  ", "\n", "\t", "."])
        out.append(line)
    return out


def misc_lines(rng):
    out = [
        # bytes the vocabulary has no token for (SmolLM2 lacks 0x04 0x06 0x13
        # 0x14 0x16 0x1D 0xF1 0xF2): the tokenizer drops them
        "a\u0004b", "..\u0004..", "x\u0006y\u0013z", "\u0014\u0016\u001d",
        "ab\u001dcd", "!!\u0013!!", "  \u0004  ", "the\u0004end", "\u0004", "\u0006\u0006",
        "\U00040000 \U0007FFFD \U00080000 \U000BFFFD", "a\U00040001b", "\U00050000\U00090000",
        "\u0001\u0002\u0003\u0005\u0007\u0008\u000e\u000f\u0010\u0011\u0012\u0015\u0017\u0018\u0019\u001a\u001b\u001c\u001e",
        # letters and digits assigned in Unicode 15-17: the Hugging Face
        # tokenizers know them (Oniguruma: Unicode 16, Rust's is_numeric:
        # 17), PCRE2 10.42 does not (Unicode 14); U+180E is white space to
        # PCRE2 only. Before "'s" the difference shows in the ids: after a
        # letter or digit "'s" is one token, after punctuation the quote
        # joins the punctuation.
        "CJK Ext H \U00031350\U00031351\U00031352's and Ext I \U0002EBF0\U0002EBF1's ideographs",
        " \U00031350 \U0002EBF0x \U0002B739's",
        "Nag Mundari \U0001E4D0\U0001E4D1\U0001E4D2's digits \U0001E4F0\U0001E4F1\U0001E4F2's",
        "Kawi \U00011F04\U00011F05\U00011F12's digits \U00011F50\U00011F51's; Garay \U00010D4A\U00010D4B's digits \U00010D40\U00010D41's",
        "Tolong Siki digits \U00011DE0\U00011DE1\U00011DE9's and \U00016FF4\U00016FF5\U00016FF6's (Unicode 17)",
        "x\U00031350x 1\U00011DE01 \U0001E4F0\U0001E4F0 a\U00016FF4b",
        "\u1c89\u1c8a's \ua7cb\ua7cc\ua7cd's \ua7da\ua7db\ua7dc's new Latin and Cyrillic letters",
        "  \u180e 1 \u180e\u180e a\u180e \u180e's",
        # private use, noncharacters, rare planes, tags
        "\ue000\uf8ff\U000f0000\U0010fffd", "\ufdd0\ufffe\uffff", "\ufffd replacement char \ufffd",
        "tag\U000e0041\U000e0042 chars", "\U0001f3fb alone", "\u20e3 keycap alone",
        "\ufe0f variation selector alone", "\u200d ZWJ alone",
        # long and repetitive
        "a" * 300, "ab" * 200, "abc " * 100, "\u4f60" * 120, "\U0001F600" * 40,
        "\u0430\u0431\u0432" * 80, "=" * 100, "-_" * 70, "." * 150, "!?" * 60,
        " ".join(["word"] * 150),
        "The quick brown fox jumps over the lazy dog. " * 25,
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
        "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
        "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure "
        "dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur.",
        # contractions and apostrophes near everything
        "'s 't 're 've 'm 'll 'd 'S 'T 'RE 'VE 'M 'LL 'D",
        "it's'll've'd'm 're're 'ss 'tt", "''s '' ' s' 's'", "\u2019s \u2019t \u2019re \u2019ll",
        "x's 1's \u4e2d's \U0001F600's 's1 'sa", " 's", "'", "''", "'''''",
        "He said 'hello' and 'goodbye'", "l'amour, l'homme, aujourd'hui, quelqu'un",
        # punctuation mixtures
        "\u3002\u3001\uff0c\uff01\uff1f\u300c\u300d\u300e\u300f\u3010\u3011\u30fb\uff5e",
        "\u00bf\u00a1\u00ab\u00bb\u2039\u203a\u201e\u201c\u201d\u2018\u2019\u201a",
        "\u2026 \u2025 \u2014 \u2013 \u2012 \u2010 \u2011 \u00b7 \u2022 \u2023 \u2043",
        "\u060c \u061b \u061f \u066a \u066b \u066c \u06d4",
        "\u0964 \u0965 \u0970 \u0df4 \u0e2f \u0e5a \u0e5b",
        "#hashtag @mention $CASH %percent ^caret &amp *star",
        ":-) ;-) :-( :P XD <3 </3 \u00af\\_(\u30c4)_/\u00af (\u256f\u00b0\u25a1\u00b0)\u256f\ufe35 \u253b\u2501\u253b",
        "( \u0361\u00b0 \u035c\u0296 \u0361\u00b0) \u0ca0_\u0ca0 \u0295\u2022\u1d25\u2022\u0294",
        "a.b,c;d:e!f?g", "a . b , c ; d", "end.", ".start", "...", "?!?!", "\"\"", "''''''",
        "", "a", "A", "0", " ", "!", "\u00e9", "\u4e00", "\U0001F600",
    ]
    return out


def make_lines(seed=20250611, n_composed=360):
    rng = random.Random(seed)
    lines = []
    lines += PROSE
    lines += CODE
    lines += number_lines(rng)
    lines += whitespace_lines(rng)
    lines += special_lines(rng)
    lines += emoji_lines(rng)
    lines += misc_lines(rng)
    lines += composed_lines(rng, n_composed)
    seen, out = set(), []
    for line in lines:
        if line not in seen:
            seen.add(line)
            out.append(line)
    return out


# ---- files -----------------------------------------------------------------

def dump_str(s):
    """json.dumps with raw UTF-8 for visible characters and \\uXXXX for
    controls, format characters, separators and spaces other than U+0020
    (Unicode categories C* and Z*), so a person sees them in the file."""
    body = json.dumps(s, ensure_ascii=False)[1:-1]
    out = []
    for ch in body:
        cat = unicodedata.category(ch)
        if ch != " " and cat[0] in "CZ":
            cp = ord(ch)
            if cp > 0xFFFF:
                cp -= 0x10000
                out.append("\\u%04x\\u%04x" % (0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF)))
            else:
                out.append("\\u%04x" % cp)
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def read_lines_file(path):
    with open(path, encoding="utf-8", newline="") as f:
        raw = f.read().split("\n")
    if raw and raw[-1] == "":
        raw.pop()
    return [json.loads(r) for r in raw]


def check_vocab(gguf_path):
    """Compares the rebuilt tokenizer with llama.cpp's vectors for gguf_path
    (.inp/.out next to it, written by convert_hf_to_gguf_update.py with the
    real tokenizer.json)."""
    tok, _ = load_tokenizer(gguf_path, want_pre=("starcoder", "smollm", "refact", "codeshell"))
    with open(gguf_path + ".inp", encoding="utf-8", newline="") as f:
        inputs = f.read().split("\n__ggml_vocab_test__\n")
    if inputs and inputs[-1] == "":
        inputs.pop()
    with open(gguf_path + ".out", encoding="utf-8") as f:
        outputs = [[int(x) for x in line.split()] for line in f.read().split("\n")]
    bad = 0
    for text, want in zip(inputs, outputs):
        got = encode(tok, text)
        if got != want:
            bad += 1
            print(f"MISMATCH {text!r}: {got} != {want}")
    print(f"{gguf_path}: {len(inputs) - bad}/{len(inputs)} vectors match")
    return bad == 0


def _code_points():
    return [cp for cp in range(1, 0x110000) if not 0xD800 <= cp <= 0xDFFF]


def _ranges(cps):
    out = []
    for c in sorted(cps):
        if out and c == out[-1][1] + 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def hf_sets():
    """The code points the Hugging Face tokenizers' regex engine (Oniguruma)
    takes as \\p{L}, \\p{N}, \\s, and those its Digits pre-tokenizer splits
    off (Rust's char::is_numeric), found by running every code point
    through Split(Isolated) and Digits."""
    from tokenizers import Regex
    from tokenizers import pre_tokenizers as P
    cps = _code_points()

    def members(pt):
        got = set()
        for i in range(0, len(cps), 20000):
            # NUL is in none of the sets, so it separates the candidates
            s = "\0".join(chr(c) for c in cps[i:i + 20000])
            for piece, _ in pt.pre_tokenize_str(s):
                if "\0" not in piece:
                    got.update(ord(ch) for ch in piece)
        return got

    return {"L": members(P.Split(Regex(r"\p{L}"), "isolated")),
            "N": members(P.Split(Regex(r"\p{N}"), "isolated")),
            "s": members(P.Split(Regex(r"\s"), "isolated")),
            "digits": members(P.Digits(individual_digits=True))}


def pcre2_sets():
    """The same sets as the system's PCRE2 (UTF + UCP, as hearth compiles
    its regexes) sees them, through ctypes."""
    import ctypes
    import ctypes.util
    lib = ctypes.CDLL(ctypes.util.find_library("pcre2-8") or "libpcre2-8.so.0")
    lib.pcre2_compile_8.restype = ctypes.c_void_p
    lib.pcre2_compile_8.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint32,
                                    ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_size_t),
                                    ctypes.c_void_p]
    lib.pcre2_match_data_create_8.restype = ctypes.c_void_p
    lib.pcre2_match_data_create_8.argtypes = [ctypes.c_uint32, ctypes.c_void_p]
    lib.pcre2_match_8.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                  ctypes.c_size_t, ctypes.c_uint32, ctypes.c_void_p,
                                  ctypes.c_void_p]
    PCRE2_UTF, PCRE2_UCP, PCRE2_ANCHORED = 0x00080000, 0x00020000, 0x80000000
    md = lib.pcre2_match_data_create_8(1, None)
    out = {}
    for name, pat in (("L", rb"\p{L}"), ("N", rb"\p{N}"), ("s", rb"\s")):
        ec, eo = ctypes.c_int(), ctypes.c_size_t()
        re = lib.pcre2_compile_8(pat, len(pat), PCRE2_UTF | PCRE2_UCP, ctypes.byref(ec),
                                 ctypes.byref(eo), None)
        got = set()
        for cp in _code_points():
            b = chr(cp).encode("utf-8")
            if lib.pcre2_match_8(re, b, len(b), 0, PCRE2_ANCHORED, md, None) >= 0:
                got.add(cp)
        out[name] = got
    return out


def print_sets():
    """Prints what hearth's tok_bpe.c must add to PCRE2's \\p{L}, \\p{N}
    (LETTERS_EXTRA, NUMBERS_EXTRA) and to \\p{N} for Digits (DIGITS_EXTRA),
    and what PCRE2 has that the Hugging Face tokenizers lack (which an
    addition cannot fix; WHITE_SPACE spells \\s out for that reason)."""
    hf, pc = hf_sets(), pcre2_sets()

    def c_ranges(cps):
        return "".join(("\\\\x{%x}" % a) if a == b else ("\\\\x{%x}-\\\\x{%x}" % (a, b))
                       for a, b in _ranges(cps))

    for name, hs, ps in (("LETTERS_EXTRA", hf["L"], pc["L"]), ("NUMBERS_EXTRA", hf["N"], pc["N"]),
                         ("DIGITS_EXTRA", hf["digits"], pc["N"] | hf["N"]),
                         ("white space", hf["s"], pc["s"])):
        print(f"{name}: HF only {len(hs - ps)}: {c_ranges(hs - ps)}")
        print(f"{name}: PCRE2 only {len(ps - hs)}: {c_ranges(ps - hs)}")


def sweep(hearth):
    """Every code point in contexts that expose how it is pre-tokenized,
    through the Hugging Face tokenizer and `hearth tokenize --jsonl`:
    prints the code points whose ids differ (none, when hearth is right)."""
    import subprocess
    import tempfile
    tok, _ = load_tokenizer(DEFAULT_MODEL)
    cps = _code_points()
    texts = [f"x{c}x {c} {c}{c}1{c}1 {c}. \t{c}'s{c}a{c} !{c}\n{c}'s " for c in map(chr, cps)]
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".jsonl", delete=False) as f:
        for t in texts:
            f.write(json.dumps(t) + "\n")
        path = f.name
    try:
        out = subprocess.run([hearth, "tokenize", "-m", DEFAULT_MODEL, "--parse-special",
                              "--jsonl", path], capture_output=True, text=True, check=True)
    finally:
        os.unlink(path)
    got = out.stdout.split("\n")
    bad = [cp for cp, t, g, e in zip(cps, texts, got, tok.encode_batch(texts, add_special_tokens=False))
           if [int(x) for x in g.split()] != e.ids]
    print(f"{len(cps)} code points, {len(bad)} tokenize differently:",
          " ".join("%x-%x" % (a, b) if a != b else "%x" % a for a, b in _ranges(bad)))
    return not bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--out-dir", default=DEFAULT_OUT)
    ap.add_argument("--lines", help="use this lines file (one JSON string per line) instead of "
                                    "generating smollm2_lines.jsonl")
    ap.add_argument("--check-vocab", metavar="GGUF",
                    help="only check the method against a ggml-vocab GGUF's .inp/.out")
    ap.add_argument("--sets", action="store_true",
                    help="only print how PCRE2's \\p{L}, \\p{N}, \\s differ from the HF tokenizers'")
    ap.add_argument("--sweep", metavar="HEARTH",
                    help="only compare every code point in context through HEARTH (a binary)")
    args = ap.parse_args()

    if args.check_vocab:
        sys.exit(0 if check_vocab(args.check_vocab) else 1)
    if args.sets:
        print_sets()
        return
    if args.sweep:
        sys.exit(0 if sweep(args.sweep) else 1)

    import tokenizers
    tok, _ = load_tokenizer(args.model)
    os.makedirs(args.out_dir, exist_ok=True)
    lines_path = os.path.join(args.out_dir, "smollm2_lines.jsonl")
    if args.lines:
        lines = read_lines_file(args.lines)
    else:
        lines = make_lines()
        with open(lines_path, "w", encoding="utf-8", newline="\n") as f:
            for line in lines:
                f.write(dump_str(line) + "\n")
        if read_lines_file(lines_path) != lines:
            sys.exit("the lines file does not read back as written")
    ref_path = os.path.join(args.out_dir, "smollm2_hf.jsonl")
    n_special = 0
    with open(ref_path, "w", encoding="utf-8", newline="\n") as f:
        for line in lines:
            rec = {"text": line, "ids": encode(tok, line)}
            plain = encode(tok, line, special=False)
            if plain != rec["ids"]:
                rec["ids_no_special"] = plain
                n_special += 1
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    n_tok = sum(len(encode(tok, x)) for x in lines)
    print(f"{len(lines)} lines, {n_tok} tokens, {n_special} with special-token texts; "
          f"tokenizers {tokenizers.__version__}; wrote {ref_path}")


if __name__ == "__main__":
    main()
