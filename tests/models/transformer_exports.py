#!/usr/bin/env python3
"""Writes two small transformer models in the ONNX form that PyTorch's exporter gives Hugging
Face's BERT and GPT-2, with ONNX test data whose outputs are computed here with numpy from the
weights (not by evaluating the ONNX graph):

    tests/models/transformer_exports.py OUT_DIR

OUT_DIR/bert-encoder.onnx   one BERT layer (opset 14): token ids and an attention mask given as
                            int64 inputs, word, position and token-type embeddings (Gather; the
                            position and type ids sliced from constant buffers with shapes
                            computed by Shape, Gather, Unsqueeze, Concat, Expand), layer norm
                            written out (ReduceMean, Pow, Sqrt, ...), the mask's Unsqueeze, Cast,
                            Sub and Mul by fp32's lowest value, heads by Reshape and Transpose,
                            GELU with Erf, a pooler (Gather of token 0, Gemm, Tanh)
OUT_DIR/gpt2-decoder.onnx   one GPT-2 block (opset 17) with a KV cache: the past keys and values
                            (8 positions) as graph inputs, concatenated with the step's 16 and
                            returned; position ids from Range after the past, LayerNormalization,
                            the fused q/k/v projection Split, the scale computed from Shape (Cast,
                            Sqrt), a causal mask sliced from a constant buffer applied with Where,
                            GELU in its tanh form with Pow, the LM head tied to the embedding
                            (MatMul by its Transpose)
OUT_DIR/llama-decoder.onnx  one Llama block (opset 14): RMSNorm written out (Pow, ReduceMean, Add,
                            Sqrt, Div, Mul), grouped-query attention (a KV head repeated by
                            Unsqueeze, Expand, Reshape), rotary embedding (cos and sin rows
                            gathered by the position_ids input, rotate_half by Slice, Neg,
                            Concat), a causal mask computed from Range, Less and Where, SwiGLU
OUT_DIR/<model>/test_data_set_0/input_N.pb, output_N.pb

Needs python3 with numpy and onnx (Debian: python3-numpy, python3-onnx).
"""
import math
import os
import sys

import numpy as np
from onnx import TensorProto, checker, helper, numpy_helper, save

SEQ, HIDDEN, HEADS, FFN, VOCAB, MAX_POS, PAST, KV_HEADS = 16, 64, 2, 128, 96, 32, 8, 1
HEAD = HIDDEN // HEADS
# Rotary tables (MAX_POS, HEAD): angle p / 10000^(2i / HEAD), each half repeated.
_ANGLES = np.arange(MAX_POS)[:, None] / 10000 ** (np.arange(0, HEAD, 2) / HEAD)[None]
COS = np.cos(np.concatenate([_ANGLES, _ANGLES], axis=1)).astype(np.float32)
SIN = np.sin(np.concatenate([_ANGLES, _ANGLES], axis=1)).astype(np.float32)
LOWEST = float(np.finfo(np.float32).min)
rng = np.random.default_rng(7)


def weight(*shape, scale=0.1):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


class Graph:
    """Nodes, initializers and constants of one graph, with names made up as an exporter does."""

    def __init__(self):
        self.nodes, self.inits, self.count = [], [], 0

    def name(self, op):
        self.count += 1
        return f"/{op}_{self.count}"

    def op(self, op, inputs, outputs=1, **attrs):
        n = self.name(op)
        outs = [f"{n}_output_{i}" for i in range(outputs)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=n, **attrs))
        return outs[0] if outputs == 1 else outs

    def init(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def const(self, value, dtype=np.float32):
        out = self.name("Constant") + "_output_0"
        self.nodes.append(helper.make_node("Constant", [], [out],
                                           value=numpy_helper.from_array(np.array(value, dtype))))
        return out

    def linear(self, x, w, b):  # x @ w + b, as torch.nn.Linear exports
        return self.op("Add", [self.op("MatMul", [x, self.init(w, weights[w])]),
                               self.init(b, weights[b])])


def layer_norm_ops(g, x, prefix):
    """LayerNorm over the last axis as opset < 17 exports write it."""
    mean = g.op("ReduceMean", [x], axes=[-1])
    d = g.op("Sub", [x, mean])
    var = g.op("ReduceMean", [g.op("Pow", [d, g.const(2.0)])], axes=[-1])
    norm = g.op("Div", [d, g.op("Sqrt", [g.op("Add", [var, g.const(1e-12)])])])
    scaled = g.op("Mul", [norm, g.init(prefix + ".weight", weights[prefix + ".weight"])])
    return g.op("Add", [scaled, g.init(prefix + ".bias", weights[prefix + ".bias"])])


def heads(g, x, transpose_perm, count=HEADS):
    """(1, S, count * HEAD) -> (1, count, S, HEAD) with the shape computed from x, as exported."""
    shape = g.op("Shape", [x])
    dims = [g.op("Unsqueeze", [g.op("Gather", [shape, g.const(i, np.int64)], axis=0),
                               g.const([0], np.int64)]) for i in (0, 1)]
    new_shape = g.op("Concat", dims + [g.const([count, HEAD], np.int64)], axis=0)
    return g.op("Transpose", [g.op("Reshape", [x, new_shape])], perm=transpose_perm)


def merge_heads(g, x):
    t = g.op("Transpose", [x], perm=[0, 2, 1, 3])
    return g.op("Reshape", [t, g.const([1, SEQ, HIDDEN], np.int64)])


def bert(out_dir):
    g = Graph()
    ids = rng.integers(0, VOCAB, (1, SEQ)).astype(np.int64)
    mask = np.ones((1, SEQ), np.int64)
    mask[0, -3:] = 0  # three padding tokens
    # Embeddings: position and token-type ids from the model's buffers, sliced to the length.
    seq = g.op("Unsqueeze", [g.op("Gather", [g.op("Shape", [ "input_ids"]), g.const(1, np.int64)],
                                  axis=0), g.const([0], np.int64)])
    pos_ids = g.op("Slice", [g.init("position_ids", np.arange(MAX_POS, dtype=np.int64)[None]),
                             g.const([0], np.int64), seq, g.const([1], np.int64)])
    types = g.op("Slice", [g.init("token_type_ids", np.zeros((1, MAX_POS), np.int64)),
                           g.const([0], np.int64), seq, g.const([1], np.int64)])
    batch = g.op("Unsqueeze", [g.op("Gather", [g.op("Shape", ["input_ids"]), g.const(0, np.int64)],
                                    axis=0), g.const([0], np.int64)])
    types = g.op("Expand", [types, g.op("Concat", [batch, seq], axis=0)])
    emb = g.op("Add", [g.op("Gather", [g.init("word", weights["word"]), "input_ids"]),
                       g.op("Gather", [g.init("type", weights["type"]), types])])
    emb = g.op("Add", [emb, g.op("Gather", [g.init("pos", weights["pos"]), pos_ids])])
    h = layer_norm_ops(g, emb, "ln_emb")
    # The extended mask: (1 - mask) * lowest, broadcast over heads and queries.
    m = g.op("Unsqueeze", [g.op("Unsqueeze", ["attention_mask", g.const([1], np.int64)]),
                           g.const([2], np.int64)])
    m = g.op("Cast", [m], to=TensorProto.FLOAT)
    m = g.op("Mul", [g.op("Sub", [g.const(1.0), m]), g.const(LOWEST)])
    q = heads(g, g.linear(h, "wq", "bq"), [0, 2, 1, 3])
    k = heads(g, g.linear(h, "wk", "bk"), [0, 2, 3, 1])
    v = heads(g, g.linear(h, "wv", "bv"), [0, 2, 1, 3])
    scores = g.op("Div", [g.op("MatMul", [q, k]), g.const(math.sqrt(HEAD))])
    probs = g.op("Softmax", [g.op("Add", [scores, m])], axis=-1)
    a = g.linear(merge_heads(g, g.op("MatMul", [probs, v])), "wo", "bo")
    h = layer_norm_ops(g, g.op("Add", [a, h]), "ln_attn")
    # FFN: GELU as x * 0.5 * (1 + erf(x / sqrt(2))).
    f = g.linear(h, "w1", "b1")
    erf = g.op("Erf", [g.op("Div", [f, g.const(math.sqrt(2.0))])])
    gelu = g.op("Mul", [g.op("Mul", [f, g.const(0.5)]), g.op("Add", [erf, g.const(1.0)])])
    h = layer_norm_ops(g, g.op("Add", [g.linear(gelu, "w2", "b2"), h]), "ln_ffn")
    g.nodes.append(helper.make_node("Identity", [h], ["last_hidden_state"]))
    first = g.op("Gather", [h, g.const(0, np.int64)], axis=1)
    pooled = g.op("Gemm", [first, g.init("wp", weights["wp"].T.copy()), g.init("bp", weights["bp"])],
                  transB=1)
    g.nodes.append(helper.make_node("Tanh", [pooled], ["pooler_output"]))
    graph = helper.make_graph(
        g.nodes, "bert-encoder",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, SEQ]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, [1, SEQ])],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [1, SEQ, HIDDEN]),
         helper.make_tensor_value_info("pooler_output", TensorProto.FLOAT, [1, HIDDEN])],
        g.inits)
    # The same network in numpy.
    x = weights["word"][ids[0]] + weights["type"][0] + weights["pos"][:SEQ]
    x = np_layer_norm(x, "ln_emb", 1e-12)
    bias = (1.0 - mask[0].astype(np.float32)) * LOWEST
    q, k, v = (split_heads(x @ weights[w] + weights[b]) for w, b in
               (("wq", "bq"), ("wk", "bk"), ("wv", "bv")))
    s = q @ k.transpose(0, 2, 1) / math.sqrt(HEAD) + bias
    a = (softmax(s) @ v).transpose(1, 0, 2).reshape(SEQ, HIDDEN) @ weights["wo"] + weights["bo"]
    x = np_layer_norm(a + x, "ln_attn", 1e-12)
    f = x @ weights["w1"] + weights["b1"]
    f = f * 0.5 * (1 + np.vectorize(math.erf)(f / math.sqrt(2.0)))
    x = np_layer_norm(f @ weights["w2"] + weights["b2"] + x, "ln_ffn", 1e-12)
    pooled = np.tanh(x[0] @ weights["wp"] + weights["bp"])
    write(out_dir, "bert-encoder", graph, 14, [ids, mask], [x[None], pooled[None]])


def gpt2(out_dir):
    g = Graph()
    ids = rng.integers(0, VOCAB, (1, SEQ)).astype(np.int64)
    past_k, past_v = (rng.standard_normal((1, HEADS, PAST, HEAD)).astype(np.float32)
                      for _ in range(2))
    seq = g.op("Gather", [g.op("Shape", ["input_ids"]), g.const(1, np.int64)], axis=0)
    past = g.op("Gather", [g.op("Shape", ["past_key"]), g.const(2, np.int64)], axis=0)
    pos = g.op("Range", [past, g.op("Add", [past, seq]), g.const(1, np.int64)])
    pos = g.op("Unsqueeze", [pos, g.const([0], np.int64)])
    wte = g.init("wte", weights["word"])
    h = g.op("Add", [g.op("Gather", [wte, "input_ids"]),
                     g.op("Gather", [g.init("wpe", weights["pos"]), pos])])
    x = g.op("LayerNormalization", [h, g.init("ln_1.weight", weights["ln_1.weight"]),
                                    g.init("ln_1.bias", weights["ln_1.bias"])], epsilon=1e-5)
    qkv = g.linear(x, "c_attn", "b_attn")
    q, k, v = g.op("Split", [qkv, g.const([HIDDEN] * 3, np.int64)], outputs=3, axis=2)
    q, k, v = (heads(g, t, [0, 2, 1, 3]) for t in (q, k, v))
    # The cache: the past keys and values, then this step's.
    g.nodes.append(helper.make_node("Concat", ["past_key", k], ["present_key"], axis=2))
    g.nodes.append(helper.make_node("Concat", ["past_value", v], ["present_value"], axis=2))
    k, v = "present_key", "present_value"
    kt = g.op("Transpose", [k], perm=[0, 1, 3, 2])
    # The scale from the value's shape: sqrt(float(v.size(-1))).
    d = g.op("Gather", [g.op("Shape", [v]), g.const(-1, np.int64)], axis=0)
    scale = g.op("Sqrt", [g.op("Cast", [d], to=TensorProto.FLOAT)])
    scores = g.op("Div", [g.op("MatMul", [q, kt]), scale])
    # The causal mask: the buffer's rows [kv - q, kv), columns [0, kv).
    buffer = np.tril(np.ones((MAX_POS, MAX_POS), bool))[None, None]
    kv = g.op("Unsqueeze", [g.op("Gather", [g.op("Shape", [k]), g.const(2, np.int64)], axis=0),
                            g.const([0], np.int64)])
    q_len = g.op("Unsqueeze", [g.op("Gather", [g.op("Shape", [q]), g.const(2, np.int64)],
                                     axis=0), g.const([0], np.int64)])
    rows = g.op("Slice", [g.init("bias", buffer), g.op("Sub", [kv, q_len]), kv,
                          g.const([2], np.int64)])
    causal = g.op("Slice", [rows, g.const([0], np.int64), kv, g.const([3], np.int64)])
    scores = g.op("Where", [causal, scores, g.const(LOWEST)])
    a = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])
    h = g.op("Add", [g.linear(merge_heads(g, a), "c_proj", "b_proj"), h])
    x = g.op("LayerNormalization", [h, g.init("ln_2.weight", weights["ln_2.weight"]),
                                    g.init("ln_2.bias", weights["ln_2.bias"])], epsilon=1e-5)
    f = g.linear(x, "c_fc", "b_fc")
    # GELU: 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))).
    inner = g.op("Add", [f, g.op("Mul", [g.const(0.044715), g.op("Pow", [f, g.const(3.0)])])])
    t = g.op("Tanh", [g.op("Mul", [g.const(math.sqrt(2 / math.pi)), inner])])
    gelu = g.op("Mul", [g.op("Mul", [g.const(0.5), f]), g.op("Add", [g.const(1.0), t])])
    h = g.op("Add", [g.linear(gelu, "c_fc2", "b_fc2"), h])
    x = g.op("LayerNormalization", [h, g.init("ln_f.weight", weights["ln_f.weight"]),
                                    g.init("ln_f.bias", weights["ln_f.bias"])], epsilon=1e-5)
    g.nodes.append(helper.make_node("MatMul", [x, g.op("Transpose", [wte], perm=[1, 0])],
                                    ["logits"]))
    graph = helper.make_graph(
        g.nodes, "gpt2-decoder",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, SEQ]),
         helper.make_tensor_value_info("past_key", TensorProto.FLOAT, [1, HEADS, PAST, HEAD]),
         helper.make_tensor_value_info("past_value", TensorProto.FLOAT, [1, HEADS, PAST, HEAD])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, SEQ, VOCAB]),
         helper.make_tensor_value_info("present_key", TensorProto.FLOAT,
                                       [1, HEADS, PAST + SEQ, HEAD]),
         helper.make_tensor_value_info("present_value", TensorProto.FLOAT,
                                       [1, HEADS, PAST + SEQ, HEAD])], g.inits)
    h = weights["word"][ids[0]] + weights["pos"][PAST:PAST + SEQ]
    x = np_layer_norm(h, "ln_1", 1e-5)
    qkv = x @ weights["c_attn"] + weights["b_attn"]
    q, k, v = (split_heads(qkv[:, i * HIDDEN:(i + 1) * HIDDEN]) for i in range(3))
    k = np.concatenate([past_k[0], k], axis=1)
    v = np.concatenate([past_v[0], v], axis=1)
    s = q @ k.transpose(0, 2, 1) / math.sqrt(HEAD)
    s = np.where(np.tril(np.ones((SEQ, PAST + SEQ), bool), k=PAST), s, LOWEST)
    a = (softmax(s) @ v).transpose(1, 0, 2).reshape(SEQ, HIDDEN)
    h = a @ weights["c_proj"] + weights["b_proj"] + h
    f = np_layer_norm(h, "ln_2", 1e-5) @ weights["c_fc"] + weights["b_fc"]
    f = 0.5 * f * (1 + np.tanh(math.sqrt(2 / math.pi) * (f + 0.044715 * f ** 3)))
    h = f @ weights["c_fc2"] + weights["b_fc2"] + h
    logits = np_layer_norm(h, "ln_f", 1e-5) @ weights["word"].T
    write(out_dir, "gpt2-decoder", graph, 17, [ids, past_k, past_v], [logits[None], k[None],
                                                                       v[None]])


def rms_norm_ops(g, x, name):
    """RMSNorm as Llama's is exported: x * (1 / sqrt(mean(x^2) + eps)) * weight."""
    var = g.op("ReduceMean", [g.op("Pow", [x, g.const(2.0)])], axes=[-1])
    inv = g.op("Div", [g.const(1.0), g.op("Sqrt", [g.op("Add", [var, g.const(1e-6)])])])
    return g.op("Mul", [g.init(name, weights[name]), g.op("Mul", [x, inv])])


def llama(out_dir):
    g = Graph()
    ids = rng.integers(0, VOCAB, (1, SEQ)).astype(np.int64)
    positions = np.arange(3, 3 + SEQ, dtype=np.int64)[None]  # a prompt after 3 tokens
    h = g.op("Gather", [g.init("embed", weights["word"]), "input_ids"])
    x = rms_norm_ops(g, h, "rms_1")
    q = heads(g, g.op("MatMul", [x, g.init("wq", weights["wq"])]), [0, 2, 1, 3])
    k = heads(g, g.op("MatMul", [x, g.init("wk_gqa", weights["wk_gqa"])]), [0, 2, 1, 3],
              KV_HEADS)
    v = heads(g, g.op("MatMul", [x, g.init("wv_gqa", weights["wv_gqa"])]), [0, 2, 1, 3],
              KV_HEADS)
    # Rotary embedding: cos and sin rows gathered by the position ids, rotate_half by slices.
    cos = g.op("Unsqueeze", [g.op("Gather", [g.init("cos", COS), "position_ids"]),
                             g.const([1], np.int64)])
    sin = g.op("Unsqueeze", [g.op("Gather", [g.init("sin", SIN), "position_ids"]),
                             g.const([1], np.int64)])

    def rotary(t):
        half = [g.op("Slice", [t, g.const([a], np.int64), g.const([b], np.int64),
                               g.const([3], np.int64)]) for a, b in ((0, HEAD // 2),
                                                                     (HEAD // 2, HEAD))]
        rot = g.op("Concat", [g.op("Neg", [half[1]]), half[0]], axis=3)
        return g.op("Add", [g.op("Mul", [t, cos]), g.op("Mul", [rot, sin])])

    q, k = rotary(q), rotary(k)

    def repeat_kv(t):  # (1, KV_HEADS, S, D) -> (1, HEADS, S, D)
        e = g.op("Expand", [g.op("Unsqueeze", [t, g.const([2], np.int64)]),
                            g.const([1, KV_HEADS, HEADS // KV_HEADS, SEQ, HEAD], np.int64)])
        return g.op("Reshape", [e, g.const([1, HEADS, SEQ, HEAD], np.int64)])

    k, v = repeat_kv(k), repeat_kv(v)
    # The causal mask as exports compute it: 0 where key <= query, fp32's lowest elsewhere.
    cols = g.op("Unsqueeze", [g.op("Range", [g.const(0, np.int64), g.const(SEQ, np.int64),
                                             g.const(1, np.int64)]), g.const([0], np.int64)])
    rows = g.op("Unsqueeze", [g.op("Range", [g.const(1, np.int64), g.const(SEQ + 1, np.int64),
                                             g.const(1, np.int64)]), g.const([1], np.int64)])
    mask = g.op("Where", [g.op("Less", [cols, rows]), g.const(0.0), g.const(LOWEST)])
    kt = g.op("Transpose", [k], perm=[0, 1, 3, 2])
    scores = g.op("Add", [g.op("Div", [g.op("MatMul", [q, kt]), g.const(math.sqrt(HEAD))]), mask])
    a = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])
    h = g.op("Add", [h, g.op("MatMul", [merge_heads(g, a), g.init("wo", weights["wo"])])])
    x = rms_norm_ops(g, h, "rms_2")
    gate = g.op("MatMul", [x, g.init("w_gate", weights["w1"])])
    up = g.op("MatMul", [x, g.init("w_up", weights["c_fc"])])
    act = g.op("Mul", [g.op("Mul", [gate, g.op("Sigmoid", [gate])]), up])
    h = g.op("Add", [h, g.op("MatMul", [act, g.init("w_down", weights["w2"])])])
    x = rms_norm_ops(g, h, "rms_f")
    g.nodes.append(helper.make_node("MatMul", [x, g.init("lm_head", weights["lm_head"])],
                                    ["logits"]))
    graph = helper.make_graph(
        g.nodes, "llama-decoder",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, SEQ]),
         helper.make_tensor_value_info("position_ids", TensorProto.INT64, [1, SEQ])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, SEQ, VOCAB])], g.inits)

    def np_rms(t, name):
        return t / np.sqrt((t * t).mean(axis=-1, keepdims=True) + 1e-6) * weights[name]

    def np_rotary(t):  # (heads, S, D)
        c, s_ = COS[positions[0]], SIN[positions[0]]
        rot = np.concatenate([-t[..., HEAD // 2:], t[..., :HEAD // 2]], axis=-1)
        return t * c + rot * s_

    h = weights["word"][ids[0]]
    x = np_rms(h, "rms_1")
    q = np_rotary(split_heads(x @ weights["wq"]))
    k = np_rotary(split_heads(x @ weights["wk_gqa"], KV_HEADS))
    v = split_heads(x @ weights["wv_gqa"], KV_HEADS)
    k, v = (np.repeat(t, HEADS // KV_HEADS, axis=0) for t in (k, v))
    s = q @ k.transpose(0, 2, 1) / math.sqrt(HEAD)
    s = np.where(np.tril(np.ones((SEQ, SEQ), bool)), s, LOWEST)
    a = (softmax(s) @ v).transpose(1, 0, 2).reshape(SEQ, HIDDEN)
    h = h + a @ weights["wo"]
    x = np_rms(h, "rms_2")
    gate = x @ weights["w1"]
    h = h + (gate / (1 + np.exp(-gate)) * (x @ weights["c_fc"])) @ weights["w2"]
    logits = np_rms(h, "rms_f") @ weights["lm_head"]
    write(out_dir, "llama-decoder", graph, 14, [ids, positions], [logits[None]])


def split_heads(x, heads=HEADS):  # (S, heads * HEAD) -> (heads, S, HEAD)
    return x.reshape(SEQ, heads, HEAD).transpose(1, 0, 2)


def softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def np_layer_norm(x, prefix, eps):
    d = x - x.mean(axis=-1, keepdims=True)
    norm = d / np.sqrt((d * d).mean(axis=-1, keepdims=True) + eps)
    return norm * weights[prefix + ".weight"] + weights[prefix + ".bias"]


def write(out_dir, name, graph, opset, inputs, outputs):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="xpusim tests/models/transformer_exports.py")
    model.ir_version = 8
    checker.check_model(model)
    save(model, os.path.join(out_dir, name + ".onnx"))
    data = os.path.join(out_dir, name, "test_data_set_0")
    os.makedirs(data, exist_ok=True)
    for kind, arrays in (("input", inputs), ("output", outputs)):
        for i, a in enumerate(arrays):
            with open(os.path.join(data, f"{kind}_{i}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(np.asarray(a, a.dtype if a.dtype == np.int64
                                                           else np.float32)).SerializeToString())


weights = {
    "word": weight(VOCAB, HIDDEN), "pos": weight(MAX_POS, HIDDEN), "type": weight(2, HIDDEN),
    **{f"{p}.weight": 1 + weight(HIDDEN) for p in ("ln_emb", "ln_attn", "ln_ffn", "ln_1", "ln_2",
                                                   "ln_f")},
    **{f"{p}.bias": weight(HIDDEN) for p in ("ln_emb", "ln_attn", "ln_ffn", "ln_1", "ln_2",
                                             "ln_f")},
    **{w: weight(HIDDEN, HIDDEN) for w in ("wq", "wk", "wv", "wo", "wp", "c_proj")},
    **{b: weight(HIDDEN) for b in ("bq", "bk", "bv", "bo", "bp", "b_proj", "b_fc2", "b2")},
    "w1": weight(HIDDEN, FFN), "b1": weight(FFN), "w2": weight(FFN, HIDDEN),
    "c_attn": weight(HIDDEN, 3 * HIDDEN), "b_attn": weight(3 * HIDDEN),
    "c_fc": weight(HIDDEN, FFN), "b_fc": weight(FFN),
    "c_fc2": weight(FFN, HIDDEN),
    "wk_gqa": weight(HIDDEN, KV_HEADS * HEAD), "wv_gqa": weight(HIDDEN, KV_HEADS * HEAD),
    "lm_head": weight(HIDDEN, VOCAB),
    **{f"{p}": 1 + weight(HIDDEN) for p in ("rms_1", "rms_2", "rms_f")},
}

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    os.makedirs(sys.argv[1], exist_ok=True)
    bert(sys.argv[1])
    gpt2(sys.argv[1])
    llama(sys.argv[1])
