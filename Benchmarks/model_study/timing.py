"""Single-query embedding time, one thread, NumPy + OpenBLAS: all-MiniLM-L6-v2 (BERT, 6x384) against
all-mpnet-base-v2 (MPNet, 12x768), on the same 300 Home Depot queries. Weights pre-transposed.
The MiniLM figure calibrates against Aisle's Swift encoder (`aisle model time`, same BLAS).

    python3 timing.py MINILM_DIR MPNET_DIR QUERIES.txt [PRODUCTS.tsv SWIFT.vec MPNET_TITLES.f32]

With the last three: the MiniLM path's title vectors against those Aisle stored in a segment's
`.vec` file (cosine 1.0 expected), and MPNet one at a time against mpnet.py's batched vectors."""
import os
os.environ["OPENBLAS_NUM_THREADS"] = "1"
import numpy as np, time, math, sys
from safetensors.numpy import load_file
from tokenizers import Tokenizer

def erf(x):
    z = np.abs(x).astype(np.float64); t = 1.0 / (1.0 + 0.5 * z)
    r = t * np.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
    return (np.sign(x) * (1.0 - r)).astype(np.float32)

def gelu(x): return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))

class Model:
    def __init__(self, d, kind):
        raw = load_file(d + '/model.safetensors')
        self.W = {k: (np.ascontiguousarray(v.T) if v.ndim == 2 and k.endswith('.weight') and 'embeddings' not in k and 'relative' not in k else v).astype(np.float32)
                  for k, v in raw.items() if 'position_ids' not in k}
        self.kind = kind
        self.tok = Tokenizer.from_file(d + '/tokenizer.json'); self.tok.no_padding(); self.tok.enable_truncation(128)
        cfgL = {'bert': (6, 384, 12, 1e-12), 'mpnet': (12, 768, 12, 1e-5)}[kind]
        self.L, self.H, self.NH, self.eps = cfgL
        self.names = ({'q': 'attention.self.query', 'k': 'attention.self.key', 'v': 'attention.self.value', 'o': 'attention.output.dense',
                       'ln1': 'attention.output.LayerNorm'} if kind == 'bert' else
                      {'q': 'attention.attn.q', 'k': 'attention.attn.k', 'v': 'attention.attn.v', 'o': 'attention.attn.o', 'ln1': 'attention.LayerNorm'})

    def ln(self, x, p):
        m = x.mean(-1, keepdims=True); v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / np.sqrt(v + self.eps) * self.W[p + '.weight'] + self.W[p + '.bias']

    def lin(self, x, p): return x @ self.W[p + '.weight'] + self.W[p + '.bias']

    def embed(self, text):
        ids = np.array(self.tok.encode(text).ids); T = len(ids); W = self.W; H, NH = self.H, self.NH; HD = H // NH
        if self.kind == 'bert':
            x = W['embeddings.word_embeddings.weight'][ids] + W['embeddings.position_embeddings.weight'][:T] + W['embeddings.token_type_embeddings.weight'][0]
            bias = 0
        else:
            x = W['embeddings.word_embeddings.weight'][ids] + W['embeddings.position_embeddings.weight'][2:T + 2]
            rel = np.arange(T)[None, :] - np.arange(T)[:, None]
            n = -rel; ret = (n < 0).astype(np.int64) * 16; n = np.abs(n)
            large = np.minimum(8 + (np.log(np.maximum(n, 1) / 8) / math.log(128 / 8) * 8).astype(np.int64), 15)
            bias = W['encoder.relative_attention_bias.weight'][ret + np.where(n < 8, n, large)].transpose(2, 0, 1)
        x = self.ln(x, 'embeddings.LayerNorm')
        nm = self.names
        for l in range(self.L):
            p = f'encoder.layer.{l}.'
            q = self.lin(x, p + nm['q']).reshape(T, NH, HD).transpose(1, 0, 2)
            k = self.lin(x, p + nm['k']).reshape(T, NH, HD).transpose(1, 2, 0)
            v = self.lin(x, p + nm['v']).reshape(T, NH, HD).transpose(1, 0, 2)
            s = q @ k / math.sqrt(HD) + bias
            s = np.exp(s - s.max(-1, keepdims=True)); s /= s.sum(-1, keepdims=True)
            c = (s @ v).transpose(1, 0, 2).reshape(T, H)
            x = self.ln(self.lin(c, p + nm['o']) + x, p + nm['ln1'])
            x = self.ln(self.lin(gelu(self.lin(x, p + 'intermediate.dense')), p + 'output.dense') + x, p + 'output.LayerNorm')
        e = x.mean(0)
        return e / np.linalg.norm(e)

if __name__ == '__main__':
    qs = [l.rstrip('\n') for l in open(sys.argv[3])][:300]
    mini = Model(sys.argv[1], 'bert')
    mp = Model(sys.argv[2], 'mpnet')
    for m in (mini, mp):
        for q in qs[:20]: m.embed(q)
    res = {'minilm': [], 'mpnet': []}
    for rnd in range(2):
        for q in qs:
            for name, m in (('minilm', mini), ('mpnet', mp)) if rnd == 0 else (('mpnet', mp), ('minilm', mini)):
                t0 = time.perf_counter(); m.embed(q); res[name].append(1000 * (time.perf_counter() - t0))
    for k, t in res.items():
        t.sort(); print(f'{k}: p50 {t[len(t)//2]:.2f} ms  p99 {t[int(len(t)*.99)]:.2f} ms')
    print('ratio p50 mpnet/minilm', res['mpnet'][len(qs)] / res['minilm'][len(qs)])
    if len(sys.argv) > 6:
        # sanity: the MiniLM path against the Swift encoder's stored title vectors (a one-segment
        # index built in products.tsv order, so node i is product i)
        import struct
        b = open(sys.argv[5], 'rb').read()
        _, dims, count = struct.unpack_from('<3I', b, 20)
        vec_off = struct.unpack_from('<5Q', b, 48)[1]
        V = np.frombuffer(b, dtype='<f4', count=count * dims, offset=16 + vec_off).reshape(count, dims)
        titles = []
        with open(sys.argv[4]) as f:
            next(f)
            for l in f: titles.append(l.rstrip('\n').split('\t')[1])
        print('MiniLM numpy vs Swift, cosines of 5 titles:', [round(float(mini.embed(titles[i]) @ V[i]), 5) for i in range(5)])
        T2 = np.fromfile(sys.argv[6], dtype='<f4').reshape(-1, 768)
        print('MPNet single vs batched, cosines of 5 titles:', [round(float(mp.embed(titles[i]) @ T2[i]), 5) for i in range(5)])
