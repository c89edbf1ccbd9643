#!/usr/bin/env python3
"""Expected logits of three tiny random-weight models, `qwen2`, `llama` and `gemma3`, for
Scribe's TinyModelReferenceTests.

The Swift test writes each model as a GGUF file from the `tensors` list of its fixture:
every value is `offset + scale * u(name, i)` with `u` the generator below, so both sides
hold bit-identical weights without committing a model file. Every value is k / 2^15 times
a power of two (plus 0 or 1), exact in f32 and in f64.

The reference is written the way Hugging Face `transformers` computes these models
(modeling_llama / modeling_qwen2 / modeling_gemma3), in float64, independent of llama.cpp's
conventions:
- RoPE by `rotate_half` on weights in Hugging Face's order. Stored `qwen2` weights are in
  that order; stored `llama` q/k weights are permuted as llama.cpp's convert_hf_to_gguf.py
  does (so llama.cpp can rotate adjacent pairs), and this script undoes that permutation.
- q/k/v biases (qwen2), grouped-query attention by repeating kv heads, RMSNorm, SwiGLU,
  a separate (qwen2) or tied (llama) output head.
- gemma3: embeddings times sqrt(d); Gemma's RMSNorm, x_normed * (1 + w), on Hugging Face
  weights w (the GGUF file stores 1 + w, as convert_hf_to_gguf.py writes it); q and k norms
  per head; norms after attention and after the MLP; gelu_pytorch_tanh gating; attention
  scaled by query_pre_attn_scalar^-0.5; sliding-window layers (all but every sixth) that see
  the last `sliding_window` positions with RoPE base `rope_local_base_freq`.

    python3 Tests/Fixtures/tiny-model/reference.py    # numpy (made with 2.4.6); rewrites qwen2.json, llama.json
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MASK = (1 << 64) - 1

MODELS = {
    "qwen2": dict(layers=2, embedding=64, feed_forward=96, heads=4, kv_heads=2, vocab=272,
                  context=64, rope_base=1_000_000.0, epsilon=1e-6, attention_bias=True, tied=False),
    "llama": dict(layers=2, embedding=64, feed_forward=96, heads=4, kv_heads=2, vocab=272,
                  context=64, rope_base=10_000.0, epsilon=1e-5, attention_bias=False, tied=True),
    # Seven layers (five sliding, one global, one sliding) with a window of 4, so the longer
    # sequences reach past it; heads of 32 wider than d / heads, as Gemma's are.
    "gemma3": dict(layers=7, embedding=64, feed_forward=96, heads=4, kv_heads=1, vocab=272,
                   context=64, rope_base=1_000_000.0, epsilon=1e-6, attention_bias=False, tied=True,
                   head_size=32, sliding_window=4, rope_base_swa=20_000.0),
}

# Token sequences whose logits are recorded at every position (lengths 7, 11 and 1).
SEQUENCES = [
    [5, 17, 200, 3, 3, 99, 271],
    [250, 1, 64, 128, 7, 7, 7, 42, 13, 180, 90],
    [11],
]


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & MASK
    return h


def uniform(name, count):
    """count values k / 2^15, k in [-2^15, 2^15): splitmix64 seeded by FNV-1a of the name."""
    state = fnv1a64(name)
    out = np.empty(count, dtype=np.float64)
    for i in range(count):
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        out[i] = ((z >> 48) - 32768) / 32768.0
    return out


def tensor_list(arch, m):
    """(name, ggml shape [columns, rows], offset, scale) of every tensor the file holds."""
    d, ff, hs = m["embedding"], m["feed_forward"], head_size(m)
    q, kv = m["heads"] * hs, m["kv_heads"] * hs
    tensors = [("token_embd.weight", [d, m["vocab"]], 0.0, 1.0),
               ("output_norm.weight", [d], 1.0, 0.25)]
    if not m["tied"]:
        tensors.append(("output.weight", [d, m["vocab"]], 0.0, 0.25))
    for layer in range(m["layers"]):
        p = f"blk.{layer}."
        tensors += [
            (p + "attn_norm.weight", [d], 1.0, 0.25),
            (p + "attn_q.weight", [d, q], 0.0, 0.25),
            (p + "attn_k.weight", [d, kv], 0.0, 0.25),
            (p + "attn_v.weight", [d, kv], 0.0, 0.25),
            (p + "attn_output.weight", [q, d], 0.0, 0.125),
            (p + "ffn_norm.weight", [d], 1.0, 0.25),
            (p + "ffn_gate.weight", [d, ff], 0.0, 0.25),
            (p + "ffn_up.weight", [d, ff], 0.0, 0.25),
            (p + "ffn_down.weight", [ff, d], 0.0, 0.125),
        ]
        if arch == "gemma3":
            tensors += [(p + "attn_q_norm.weight", [hs], 1.0, 0.25),
                        (p + "attn_k_norm.weight", [hs], 1.0, 0.25),
                        (p + "post_attention_norm.weight", [d], 1.0, 0.25),
                        (p + "post_ffw_norm.weight", [d], 1.0, 0.25)]
        if m["attention_bias"]:
            tensors += [(p + "attn_q.bias", [q], 0.0, 0.5),
                        (p + "attn_k.bias", [kv], 0.0, 0.5),
                        (p + "attn_v.bias", [kv], 0.0, 0.5)]
    return tensors


def load(arch, m):
    """Stored tensors as numpy arrays of shape (rows, columns), as Hugging Face holds them."""
    weights = {}
    for name, shape, offset, scale in tensor_list(arch, m):
        count = int(np.prod(shape))
        values = offset + scale * uniform(name, count)
        weights[name] = values.reshape(list(reversed(shape))) if len(shape) == 2 else values
    return weights


def head_size(m):
    return m.get("head_size", m["embedding"] // m["heads"])


def unpermute(w, heads):
    """Inverse of convert_hf_to_gguf.py's LlamaModel.permute: stored row 2i+j of a head is
    Hugging Face row j·hs/2 + i."""
    rows, columns = w.shape
    hs = rows // heads
    return w.reshape(heads, hs // 2, 2, columns).swapaxes(1, 2).reshape(rows, columns)


def rms_norm(x, weight, epsilon):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + epsilon) * weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def rope_tables(base, hs, n):
    inv_freq = 1.0 / base ** (np.arange(0, hs, 2) / hs)
    angles = np.outer(np.arange(n), inv_freq)
    return (np.cos(np.concatenate([angles, angles], axis=-1))[:, None, :],
            np.sin(np.concatenate([angles, angles], axis=-1))[:, None, :])


def forward(arch, m, w, tokens):
    """Logits (len(tokens), vocab) of one causal sequence."""
    if arch == "gemma3":
        return forward_gemma3(m, w, tokens)
    n, heads, kv_heads = len(tokens), m["heads"], m["kv_heads"]
    hs = head_size(m)
    cos, sin = rope_tables(m["rope_base"], hs, n)
    mask = np.triu(np.full((n, n), -np.inf), k=1)

    x = w["token_embd.weight"][tokens]
    for layer in range(m["layers"]):
        p = f"blk.{layer}."
        wq, wk = w[p + "attn_q.weight"], w[p + "attn_k.weight"]
        if arch == "llama":
            wq, wk = unpermute(wq, heads), unpermute(wk, kv_heads)
        h = rms_norm(x, w[p + "attn_norm.weight"], m["epsilon"])
        q, k, v = h @ wq.T, h @ wk.T, h @ w[p + "attn_v.weight"].T
        if m["attention_bias"]:
            q, k, v = q + w[p + "attn_q.bias"], k + w[p + "attn_k.bias"], v + w[p + "attn_v.bias"]
        q = q.reshape(n, heads, hs)
        k = k.reshape(n, kv_heads, hs)
        v = v.reshape(n, kv_heads, hs)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        group = heads // kv_heads
        k, v = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
        scores = np.einsum("qhd,khd->hqk", q, k) / np.sqrt(hs) + mask
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        attention = np.einsum("hqk,khd->qhd", scores, v).reshape(n, heads * hs)
        x = x + attention @ w[p + "attn_output.weight"].T
        h = rms_norm(x, w[p + "ffn_norm.weight"], m["epsilon"])
        gate, up = h @ w[p + "ffn_gate.weight"].T, h @ w[p + "ffn_up.weight"].T
        x = x + (gate / (1 + np.exp(-gate)) * up) @ w[p + "ffn_down.weight"].T
    head = w["token_embd.weight"] if m["tied"] else w["output.weight"]
    return rms_norm(x, w["output_norm.weight"], m["epsilon"]) @ head.T


def forward_gemma3(m, w, tokens):
    """Gemma3ForCausalLM: weights converted back to Hugging Face's (norms minus one)."""
    n, heads, kv_heads, hs, eps = len(tokens), m["heads"], m["kv_heads"], head_size(m), m["epsilon"]

    def norm(x, stored):  # Gemma3RMSNorm with w = stored - 1
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * (1.0 + (stored - 1.0))

    causal = np.triu(np.full((n, n), -np.inf), k=1)
    distance = np.arange(n)[:, None] - np.arange(n)[None, :]
    sliding = np.where(distance >= m["sliding_window"], -np.inf, causal)
    x = w["token_embd.weight"][tokens] * np.sqrt(m["embedding"])
    for layer in range(m["layers"]):
        p = f"blk.{layer}."
        is_sliding = (layer + 1) % 6 != 0
        cos, sin = rope_tables(m["rope_base_swa"] if is_sliding else m["rope_base"], hs, n)
        h = norm(x, w[p + "attn_norm.weight"])
        q = (h @ w[p + "attn_q.weight"].T).reshape(n, heads, hs)
        k = (h @ w[p + "attn_k.weight"].T).reshape(n, kv_heads, hs)
        v = (h @ w[p + "attn_v.weight"].T).reshape(n, kv_heads, hs)
        q, k = norm(q, w[p + "attn_q_norm.weight"]), norm(k, w[p + "attn_k_norm.weight"])
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        group = heads // kv_heads
        k, v = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
        scaling = hs ** -0.5  # query_pre_attn_scalar = head_dim
        scores = np.einsum("qhd,khd->hqk", q, k) * scaling + (sliding if is_sliding else causal)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        attention = np.einsum("hqk,khd->qhd", scores, v).reshape(n, heads * hs)
        x = x + norm(attention @ w[p + "attn_output.weight"].T, w[p + "post_attention_norm.weight"])
        h = norm(x, w[p + "ffn_norm.weight"])
        gate, up = h @ w[p + "ffn_gate.weight"].T, h @ w[p + "ffn_up.weight"].T
        x = x + norm((gelu_tanh(gate) * up) @ w[p + "ffn_down.weight"].T, w[p + "post_ffw_norm.weight"])
    return norm(x, w["output_norm.weight"]) @ w["token_embd.weight"].T


def main():
    for arch, m in MODELS.items():
        weights = load(arch, m)
        fixture = dict(
            architecture=arch, **m,
            tensors=[dict(name=n, shape=s, offset=o, scale=c) for n, s, o, c in tensor_list(arch, m)],
            sequences=[dict(tokens=t, logits=[[float(f"{v:.7g}") for v in row] for row in forward(arch, m, weights, t)])
                       for t in SEQUENCES])
        with open(os.path.join(HERE, f"{arch}.json"), "w") as out:
            json.dump(fixture, out, separators=(",", ":"))
            out.write("\n")


if __name__ == "__main__":
    main()
