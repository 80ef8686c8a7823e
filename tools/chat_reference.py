#!/usr/bin/env python3
"""chat_reference.py — regenerates tests/data/chat_reference/: what
llama.cpp's llama-server answers, greedily, to a set of chat conversations
on SmolLM2-135M-Instruct (models/smollm2-135m-instruct.gguf), with the token
ids and the top-5 log-probabilities of every generated token.
tests/integration/chat_fidelity.test.js holds hearth to these.

Python 3 standard library only. It starts llama-server itself:

  LLAMA_SERVER=/path/to/llama-server python3 tools/chat_reference.py \
      --llama-commit <sha> [--model FILE] [--out-dir DIR]

For each conversation it
  1. renders the model's chat template (ChatML; the template adds the
     default system prompt when the first message is not a system one) and
     checks the rendering against llama-server's own Jinja rendering
     (/apply-template; that one drops the leading "<|im_start|>" because it
     is the BOS text, although this model does not add a BOS: the rendering
     used is the template's, with it);
  2. tokenizes it with llama-server (/tokenize: special texts become their
     tokens, no BOS added, as the model asks);
  3. generates 64 tokens greedily with a small C program linked to the same
     llama.cpp build (compiled here with cc): the prompt decoded whole in
     one batch, then one token per step, in a context made as llama-server
     makes its own (4096 cells, batch 2048/512, the server's thread count);
     the top-5 log-probabilities of every step come from the raw logits
     exactly as llama-server computes its n_probs (softmax over the
     vocabulary sorted by logit, in float);
  4. asks llama-server's /completion the same (temperature 0, n_probs 5,
     cache_prompt false) and requires the same tokens and, bit for bit, the
     same log-probabilities wherever the server reports them. (The program
     is needed because llama-server at this commit keeps no probabilities
     for a token that ends inside a UTF-8 character.)

The llama-server must not use AMX: at the llama.cpp commit these references
come from, its AMX kernels give wrong Q4_1 products for prompts (see the
README this writes). The script refuses a server whose log shows an AMX
buffer unless --allow-amx is given.

It also checks that no conversation shares with another (prompt plus
generated tokens) a prefix reaching past that other prompt or ending less
than two tokens before its own end: a server reusing cached keys and values
(hearth does, across requests) then evaluates every prompt the way a fresh
llama-server does.
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N_PREDICT = 64
N_PROBS = 5
DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

# (name, messages): varied on purpose, and each first message differs from
# every other conversation's within its first words.
CONVERSATIONS = [
    ("capital", [{"role": "user", "content": "What is the capital of France?"}]),
    ("sky", [{"role": "system", "content": "You are a concise assistant. Answer in one sentence."},
             {"role": "user", "content": "Why is the sky blue?"}]),
    ("haiku", [{"role": "user", "content": "Write a haiku about the sea."}]),
    ("productivity", [{"role": "user", "content": "List three tips for staying productive while working from home."}]),
    ("hash-table", [{"role": "user", "content": "Explain what a hash table is to a ten-year-old."}]),
    ("prime-python", [{"role": "user", "content": "Write a Python function that checks whether a number is prime."}]),
    ("js-output", [{"role": "user", "content": "What does this JavaScript print?\n\nconsole.log([1, 2, 3].map(x => x * 2));"}]),
    ("math-tutor", [{"role": "system", "content": "You are a helpful math tutor."},
                    {"role": "user", "content": "What is 17 multiplied by 23? Show your steps."}]),
    ("cat-name", [{"role": "user", "content": "Hi! My name is Ana."},
                  {"role": "assistant", "content": "Hello Ana! How can I help you today?"},
                  {"role": "user", "content": "Can you suggest a name for my new cat?"}]),
    ("japan-trip", [{"role": "system", "content": "You are a friendly travel guide."},
                    {"role": "user", "content": "I am visiting Japan in April."},
                    {"role": "assistant", "content": "April is cherry blossom season, a wonderful time to visit."},
                    {"role": "user", "content": "Which cities should I see?"}]),
    ("french", [{"role": "user", "content": "Quelle est la différence entre un chat et un chien ?"}]),
    ("spanish", [{"role": "user", "content": "¿Puedes darme una receta sencilla de tortilla de patatas?"}]),
    ("german", [{"role": "user", "content": "Erkläre kurz, wie ein Regenbogen entsteht."}]),
    ("italian", [{"role": "user", "content": "Qual è il piatto più famoso di Napoli?"}]),
    ("portuguese", [{"role": "system", "content": "Responda sempre em português."},
                    {"role": "user", "content": "O que é fotossíntese?"}]),
    ("chinese", [{"role": "user", "content": "请用一句话介绍一下长城。"}]),
    ("russian", [{"role": "user", "content": "Как приготовить чай?"}]),
    ("translate", [{"role": "user", "content": "Translate to French: The weather is nice today."}]),
    ("summarize", [{"role": "user", "content": "Summarize in one sentence: The mitochondria is the powerhouse of the cell, "
                                                "producing most of the energy a cell needs through respiration."}]),
    ("json", [{"role": "user", "content": "Give me a JSON object with the keys name, age and city for a fictional person."}]),
    ("yes-no", [{"role": "system", "content": "Reply only with yes or no."},
                {"role": "user", "content": "Is water wet?"}]),
    ("robot-story", [{"role": "user", "content": "Tell me a short story about a robot who learns to paint."}]),
    ("tcp-udp", [{"role": "user", "content": "What are the main differences between TCP and UDP?"}]),
    ("sql", [{"role": "user", "content": "Write a SQL query that selects all users older than 30 from a table named users."}]),
    ("python-sort", [{"role": "user", "content": "How do I reverse a list in Python?"},
                     {"role": "assistant", "content": "You can use slicing: my_list[::-1]."},
                     {"role": "user", "content": "And how do I sort it in descending order?"}]),
]


HELPER_C = r"""
/* chat_reference's generator: one greedy generation per stdin line
 * "N_PREDICT N_PROBS N id1 .. idN", the way llama-server computes it; per
 * step "S id logprob id:piece-hex:logprob ..." then "E eos|limit". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "llama.h"

typedef struct { int id; float logit, p; } cand;
static int by_logit(const void *a, const void *b) {
  float x = ((const cand *)a)->logit, y = ((const cand *)b)->logit;
  return x > y ? -1 : x < y ? 1 : 0;
}
static void piece_hex(const struct llama_vocab *v, int id, char *out) {
  char buf[256];
  int n = llama_token_to_piece(v, id, buf, sizeof buf, 0, false);
  if (n < 0) n = 0;
  for (int i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", (unsigned char)buf[i]);
  out[2 * n] = 0;
}
static double lp(float p) { return p == 0.0f ? -3.4028234663852886e38 : (double)logf(p); }

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  llama_backend_init();
  struct llama_model *m = llama_model_load_from_file(argv[1], llama_model_default_params());
  if (!m) return 1;
  struct llama_context_params cp = llama_context_default_params();
  cp.n_ctx = 4096; cp.n_batch = 2048; cp.n_ubatch = 512; cp.n_seq_max = 1;
  cp.n_threads = cp.n_threads_batch = atoi(argv[2]);
  struct llama_context *ctx = llama_init_from_model(m, cp);
  if (!ctx) return 1;
  const struct llama_vocab *v = llama_model_get_vocab(m);
  const int nv = llama_vocab_n_tokens(v);
  cand *c = malloc(sizeof(cand) * nv);
  static char line[1 << 20], hex[600];
  printf("R\n");
  fflush(stdout);
  while (fgets(line, sizeof line, stdin)) {
    char *s = line;
    int n_predict = (int)strtol(s, &s, 10), n_probs = (int)strtol(s, &s, 10), n = (int)strtol(s, &s, 10);
    llama_token *ids = malloc(sizeof(llama_token) * (n + n_predict + 1));
    for (int i = 0; i < n; i++) ids[i] = (llama_token)strtol(s, &s, 10);
    llama_kv_cache_clear(ctx);
    int rc = llama_decode(ctx, llama_batch_get_one(ids, n)), k = 0, eos = 0;
    while (!rc) {
      const float *lg = llama_get_logits_ith(ctx, -1);
      for (int i = 0; i < nv; i++) c[i] = (cand){i, lg[i], 0};
      qsort(c, nv, sizeof(cand), by_logit);
      float max = c[0].logit, cum = 0;
      for (int i = 0; i < nv; i++) { c[i].p = expf(c[i].logit - max); cum += c[i].p; }
      for (int i = 0; i < nv; i++) c[i].p /= cum;
      printf("S %d %.17g", c[0].id, lp(c[0].p));
      for (int i = 0; i < n_probs; i++) {
        piece_hex(v, c[i].id, hex);
        printf(" %d:%s:%.17g", c[i].id, hex, lp(c[i].p));
      }
      printf("\n");
      ids[n + k] = c[0].id;
      if (++k >= n_predict) break;
      if (llama_vocab_is_eog(v, c[0].id)) { eos = 1; break; }
      rc = llama_decode(ctx, llama_batch_get_one(&ids[n + k - 1], 1));
    }
    printf(rc ? "X\n" : eos ? "E eos\n" : "E limit\n");
    fflush(stdout);
    free(ids);
  }
  return 0;
}
"""


def build_helper(llama_dir, bin_dir, work):
    src = os.path.join(work, "gen.c")
    exe = os.path.join(work, "gen")
    with open(src, "w") as f:
        f.write(HELPER_C)
    cmd = [os.environ.get("CC", "cc"), "-O2", "-o", exe, src,
           "-I" + os.path.join(llama_dir, "include"), "-I" + os.path.join(llama_dir, "ggml", "include"),
           "-L" + bin_dir, "-lllama", "-lggml", "-lggml-base", "-lm", "-Wl,-rpath," + bin_dir]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit("chat_reference: building the generator failed:\n" + " ".join(cmd) + "\n" + r.stderr)
    return exe


class Generator:
    def __init__(self, exe, model, threads):
        self.p = subprocess.Popen([exe, model, str(threads)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if self.p.stdout.readline().strip() != "R":
            sys.exit("chat_reference: the generator did not start")

    def run(self, prompt_ids):
        self.p.stdin.write(f"{N_PREDICT} {N_PROBS} {len(prompt_ids)} {' '.join(map(str, prompt_ids))}\n")
        self.p.stdin.flush()
        steps = []
        while True:
            line = self.p.stdout.readline().split()
            if not line or line[0] == "X":
                sys.exit("chat_reference: the generator failed")
            if line[0] == "E":
                return steps, line[1]
            top = []
            for t in line[3:]:
                tid, hx, lpv = t.split(":")
                top.append([int(tid), hx, float(lpv)])
            steps.append({"id": int(line[1]), "logprob": float(line[2]), "top": top})

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)


def render_chatml(messages):
    """The model's chat template (tokenizer.chat_template of the GGUF) with
    add_generation_prompt: ChatML, the default system turn first when the
    conversation has none."""
    out = []
    if messages[0]["role"] != "system":
        out.append("<|im_start|>system\n" + DEFAULT_SYSTEM + "<|im_end|>\n")
    for m in messages:
        out.append("<|im_start|>" + m["role"] + "\n" + m["content"] + "<|im_end|>\n")
    out.append("<|im_start|>assistant\n")
    return "".join(out)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url, body, timeout=300):
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.load(r)


def common_prefix(a, b):
    n = 0
    while n < len(a) and n < len(b) and a[n] == b[n]:
        n += 1
    return n


def build_info(server):
    """What can be read about the llama.cpp build next to the binary."""
    info = {}
    try:
        v = subprocess.run([server, "--version"], capture_output=True, text=True, timeout=30)
        info["version"] = " ".join((v.stdout + v.stderr).split())
    except OSError:
        pass
    cache = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(server))), "CMakeCache.txt")
    if os.path.exists(cache):
        keep = ("CMAKE_BUILD_TYPE", "CMAKE_C_FLAGS", "CMAKE_CXX_FLAGS", "GGML_NATIVE", "GGML_AMX_INT8",
                "GGML_AVX512", "GGML_LLAMAFILE", "GGML_OPENMP", "GGML_CPU_AARCH64", "BUILD_SHARED_LIBS",
                "CMAKE_C_COMPILER", "LLAMA_CURL")
        flags = {}
        for line in open(cache, encoding="utf-8", errors="replace"):
            m = re.match(r"^([A-Za-z0-9_]+):[A-Z]+=(.*)$", line.strip())
            if m and m.group(1) in keep:
                flags[m.group(1)] = m.group(2)
        info["cmake"] = flags
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--llama-server", default=os.environ.get("LLAMA_SERVER"),
                    help="the llama-server binary (default: $LLAMA_SERVER)")
    ap.add_argument("--llama-commit", default=os.environ.get("LLAMA_COMMIT", ""),
                    help="the llama.cpp commit the server was built from (recorded in the README)")
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "smollm2-135m-instruct.gguf"))
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "tests", "data", "chat_reference"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--llama-dir", help="the llama.cpp checkout (headers for the generator; default: "
                    "two levels above the server binary's directory)")
    ap.add_argument("--allow-amx", action="store_true", help="accept a server that uses AMX buffers")
    args = ap.parse_args()
    if not args.llama_server:
        sys.exit("chat_reference: give --llama-server or set LLAMA_SERVER")
    if not os.path.exists(args.model):
        sys.exit(f"chat_reference: no model at {args.model} (scripts/install.sh fetches it)")

    bin_dir = os.path.dirname(os.path.abspath(args.llama_server))
    llama_dir = args.llama_dir or os.path.dirname(os.path.dirname(bin_dir))
    work = tempfile.mkdtemp(prefix="chat-reference-")
    gen = Generator(build_helper(llama_dir, bin_dir, work), args.model, args.threads)

    port = free_port()
    flags = ["-m", args.model, "--host", "127.0.0.1", "--port", str(port), "-t", str(args.threads),
             "-c", "4096", "-np", "1", "--jinja"]
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([args.llama_server] + flags, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if proc.poll() is not None:
                log.seek(0)
                sys.exit("chat_reference: llama-server exited:\n" + log.read()[-4000:])
            try:
                with urllib.request.urlopen(base + "/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.2)
        else:
            sys.exit("chat_reference: llama-server did not become healthy")
        log.seek(0)
        server_log = log.read()
        if re.search(r"AMX model buffer", server_log) and not args.allow_amx:
            sys.exit("chat_reference: this llama-server keeps weights in AMX buffers; its AMX Q4_1 "
                     "product is wrong at this commit (README). Build without AMX (see README) or "
                     "pass --allow-amx.")

        records, missing = [], {}
        for name, messages in CONVERSATIONS:
            prompt = render_chatml(messages)
            theirs = post(base + "/apply-template", {"messages": messages})["prompt"]
            if not theirs.startswith("<|im_start|>"):
                theirs = "<|im_start|>" + theirs  # the BOS text llama.cpp's Jinja path strips
            if theirs != prompt:
                sys.exit(f"chat_reference: {name}: rendering differs from llama-server's:\n"
                         f"{prompt!r}\n{theirs!r}")
            prompt_ids = post(base + "/tokenize", {"content": prompt, "add_special": False})["tokens"]
            steps, stop = gen.run(prompt_ids)
            ids = [st["id"] for st in steps]
            for st in steps:
                if st["top"][0][0] != st["id"] or st["top"][0][2] != st["logprob"]:
                    sys.exit(f"chat_reference: {name}: token {st['id']} is not the greedy choice")
            # llama-server must agree: same tokens, and its probabilities
            # (where it reports them) bit for bit
            r = post(base + "/completion", {
                "prompt": prompt, "n_predict": N_PREDICT, "temperature": 0, "n_probs": N_PROBS,
                "cache_prompt": False, "return_tokens": True, "seed": 0,
                "repeat_penalty": 1.0, "presence_penalty": 0.0, "frequency_penalty": 0.0,
                "dry_multiplier": 0.0, "xtc_probability": 0.0, "top_k": 40, "top_p": 1.0,
                "min_p": 0.0, "typical_p": 1.0})
            if r.get("tokens_evaluated") != len(prompt_ids):
                sys.exit(f"chat_reference: {name}: the server evaluated {r.get('tokens_evaluated')} "
                         f"prompt tokens, tokenized {len(prompt_ids)}")
            if r["tokens"] != ids or r["stop_type"] != stop:
                sys.exit(f"chat_reference: {name}: llama-server generated {r['tokens']} ({r['stop_type']}), "
                         f"the generator {ids} ({stop})")
            k = 0
            for p in r["completion_probabilities"]:
                mine = [[t["id"], bytes(t["bytes"]).hex(), t["logprob"]] for t in p["top_logprobs"]]
                while k < len(steps) and (steps[k]["id"] != p["id"] or steps[k]["top"] != mine):
                    k += 1  # a step the server has no probabilities for
                if k == len(steps) or steps[k]["logprob"] != p["logprob"]:
                    sys.exit(f"chat_reference: {name}: llama-server's probabilities differ from the "
                             f"generator's at {p['id']}")
                k += 1
            n_server = len(r["completion_probabilities"])
            missing[name] = len(steps) - n_server
            records.append({"name": name, "messages": messages, "prompt": prompt,
                            "prompt_ids": prompt_ids, "ids": ids, "text": r["content"],
                            "stop": stop, "steps": steps})
            print(f"{name:14s} prompt {len(prompt_ids):3d}  generated {len(ids):2d} ({stop}, "
                  f"server probabilities {n_server} equal)  {r['content'][:40]!r}")
    finally:
        gen.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)

    # Cached prefixes: see the module comment.
    for a in records:
        for b in records:
            if a is b:
                continue
            n = common_prefix(b["prompt_ids"], a["prompt_ids"] + a["ids"])
            if n > len(a["prompt_ids"]) or len(b["prompt_ids"]) - n < 2:
                sys.exit(f"chat_reference: {b['name']} shares {n} tokens with {a['name']}'s "
                         "conversation: a cached prefix would change how it is evaluated")

    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "smollm2.jsonl"), "w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    info = build_info(args.llama_server)
    write_readme(os.path.join(args.out_dir, "README.md"), args, flags, info, records, missing)
    print(f"wrote {len(records)} conversations to {args.out_dir}")


def write_readme(path, args, flags, info, records, missing):
    cmake = info.get("cmake", {})
    cmake_lines = "\n".join(f"  {k}={v}" for k, v in sorted(cmake.items())) or "  (no CMakeCache.txt found)"
    model = os.path.relpath(args.model, ROOT)
    server_flags = " ".join(model if f == args.model else f for f in flags).replace(
        "--port " + flags[flags.index("--port") + 1], "--port PORT")
    n_eos = sum(r["stop"] == "eos" for r in records)
    n_steps = sum(len(r["steps"]) for r in records)
    gaps = ", ".join(f"`{k}`" for k, v in missing.items() if v) or "none"
    text = f"""# chat_reference

`smollm2.jsonl`: what llama.cpp's llama-server generates greedily for
{len(records)} chat conversations on `{model}` (SmolLM2-135M-Instruct,
Q4_1 with a Q8_0 token embedding that is also the output matrix), written
by `tools/chat_reference.py`. One conversation per line:

- `name`, `messages`: the conversation as an OpenAI chat request has it;
- `prompt`: the model's chat template applied (ChatML; the default system
  turn first when there is none), `prompt_ids` its tokens (no BOS added:
  the model's `add_bos_token` is false; the template starts with
  `<|im_start|>`, token 1);
- `ids`: up to {N_PREDICT} tokens generated at temperature 0, `text` their
  decoding, `stop`: `limit` or `eos` (the last id is then the end-of-turn
  token, `<|im_end|>`); {n_eos} of the {len(records)} stop at `eos`;
- `steps`: per generated token its `id`, `logprob` and `top`, the five most
  probable tokens as `[id, bytes as hex, natural-log probability]`, from
  the raw logits as llama-server's `n_probs` computes them (softmax over the
  vocabulary sorted by logit, summed in float: these carry that sum's
  rounding, ~1e-4, which hearth's double sum does not).

## How it was made

- llama.cpp commit: `{args.llama_commit or "(not given)"}`
- llama-server: {info.get("version", "(version unknown)")}
- build (CMakeCache.txt):
{cmake_lines}
- CPU: x86-64 with AVX-512 VNNI (and AMX, unused), {args.threads} threads
- server: `llama-server {server_flags}`: renders the template for the
  check, tokenizes, and answers `/completion` (the rendered prompt,
  `n_predict` {N_PREDICT}, `temperature` 0, `n_probs` {N_PROBS}, `cache_prompt`
  false, penalties off) with the same tokens and, bit for bit, the same
  log-probabilities as the files hold, wherever it reports them
- generator: the steps come from a small C program the script compiles
  against the same build (`HELPER_C` in the script), which decodes as the
  server does (whole prompt in one batch, then one token per step, 4096
  cells) and reports every step: llama-server at this commit keeps no
  probabilities for a token that ends inside a UTF-8 character (here
  {sum(missing.values())} of the {n_steps} steps, in {gaps})

Regenerate (a llama.cpp checkout at the commit above, built as below):

    cmake -B build -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DGGML_NATIVE=ON \\
      -DCMAKE_C_FLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" \\
      -DCMAKE_CXX_FLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
    cmake --build build --target llama-server -j2

(With `GGML_NATIVE` the per-ISA options, `GGML_AVX512` or `GGML_AMX_INT8`,
are not used: `-march=native` decides, hence the `-mno-amx-*` flags; they
change nothing else.)

    # then, in hearth's checkout
    LLAMA_SERVER=/path/to/llama.cpp/build/bin/llama-server python3 tools/chat_reference.py --llama-commit <sha>

## Why these references and not others

**No AMX.** With `GGML_NATIVE` on an AMX CPU, llama.cpp keeps Q4_1 and
Q8_0 weights in AMX buffers; at this commit the AMX product of a prompt
(more than one token) is wrong for this model. Measured on the 37-token
prompt of `capital`, against ggml's own reference `vec_dot` on the same
inputs (ggml's type traits called directly): the first Q4_1 product of
layer 0 (`attn_v`, 576 -> 192) differs by up to 0.27 (49% of its largest
value), and the last-row logits end up 0.72 (relative to their largest
magnitude) from those of an independent float64 NumPy forward pass
(`tests/reference/ref_forward.py`), against 0.070 for llama.cpp without
AMX, 0.040 for the NumPy pass with llama.cpp's 8-bit activations and F16
KV emulated, and 0.044 for hearth's default kernels. Top-5 there:

| computation                        | top-5 (id: logprob)                                   |
|------------------------------------|-------------------------------------------------------|
| NumPy float64                      | 504 -1.883, 60 -1.965, 15319 -2.266, 2219 -2.806, 7026 -2.893 |
| NumPy, llama.cpp's roundings       | 60 -1.887, 504 -2.004, 15319 -2.461, 2219 -2.623, 7026 -3.040 |
| llama.cpp, AMX (default build)     | 504 -1.564, 50 -2.881, 49 -2.950, 33488 -3.078, 67 -3.206 |
| llama.cpp, no AMX (these files)    | 60 -1.884, 504 -1.973, 15319 -2.225, 2219 -2.739, 7026 -2.787 |
| hearth, default ("fast") numerics  | 60 -1.889, 504 -2.102, 15319 -2.331, 2219 -2.678, 7026 -2.883 |
| hearth, `HEARTH_NUMERICS=llama`    | identical to llama.cpp without AMX, bit for bit       |

The AMX build is the outlier (the others agree with each other to the
size of 8-bit rounding; it does not). The problem was later seen upstream
too (ggml-org/llama.cpp#16315: "The AMX backend produces garbage with
Q4_0 and Q4_1 quantizations"). The build above (native flags, AMX
instructions off) gives exactly what the AMX build gives with AMX refused
at run time.

**Chat template.** Without `--jinja` llama-server renders a built-in ChatML
that omits the model's default system turn; with `--jinja` it strips the
leading `<|im_start|>` because that is the BOS text, though this model adds
no BOS (fixed later by ggml-org/llama.cpp#15086). Either way the prompt is
not the model's template; the script renders it and checks that against
llama-server's Jinja output with the `<|im_start|>` put back.

**Exactness.** This model amplifies rounding: 30 layers of 8-bit
activations, where one product rounded differently flips a quantized
activation and the difference grows. Two float32 summation orders move
the top-5 log-probabilities above by ~0.1 (hearth's own AVX2 and AVX-512
kernels, or one prompt evaluated in one batch or token by token) and change
greedy texts within 64 tokens: with its default numerics hearth matches
none of these conversations (when measured: 19 of 25 leave the reference's
tokens within 64, one at its first token; log-probabilities up to 0.66
apart). Matching them to 5e-3 takes llama.cpp's arithmetic, operation for
operation: hearth's `HEARTH_NUMERICS=llama` (src/engine/kernels.h) does
it, reproduces the logits of llama.cpp exactly when requests are served one
at a time, and so every token here, with log-probabilities within ~3e-4
(the float sum above). tests/integration/chat_fidelity.test.js holds it to
that.
"""
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
