"""Builds an ONNX Runtime graph of com.microsoft fused operators from a GPT-2 style Optimum decoder export
(its model.onnx), with onnx.helper and numpy only (no torch, no onnxruntime package); Llama-style exports
are built by fused_llama.py with the same GraphBuilder.

  /usr/bin/python3 training/fused_graph.py models/chatcluster-tiny [--quantize int8|int4] [--out FILE]

Per layer (9 nodes; the Optimum export has ~100 per layer):
  qkv  = MatMul(h, Wqkv) + bqkv                                  (B, S, 3C) packed q, k, v
  attn = GroupQueryAttention(qkv, past_k, past_v, seqlens_k, total_sequence_length) -> (B, S, C), present_k/v
  h, x = SkipLayerNormalization(attn @ Wo, x, ln_2, bias=bo)     h normed, x the residual sum
  m    = FastGelu(h @ Wfc, bfc) @ Wproj
  h, x = SkipLayerNormalization(m, x, next ln_1 or ln_f, bias=bproj)
then logits = h @ lm_head (the tied embedding, transposed by ONNX Runtime's constant folding at load).

The KV cache is one buffer per layer and kind, (B, H, max_sequence_length, D), that past and present share:
both are declared with the same dimension name, and a caller that binds one tensor to both gets it updated in
place (each row's new keys written at its own length). Rows are right-padded: row b's tokens are at [0, len_b).

Inputs and outputs keep Optimum's names (input_ids, attention_mask, position_ids, past_key_values.N.key/value,
logits, present.N.key/value), and seqlens_k / total_sequence_length are computed inside the graph the way
ONNX Runtime GenAI's builder does (ReduceSum(attention_mask) - 1, Shape(attention_mask)[1]), so GenAI runs this
file too with past_present_share_buffer: true, and the engine detects the layout from the shared dimension name.

--quantize int8|int4 stores the layer matmuls and the lm_head as MatMulNBits blocks of 32 (matmul_nbits.py);
the embedding tables stay float32 (they are gathered, not multiplied).
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import fused_llama
from matmul_nbits import quantize
from optimum_weights import Gpt2Weights, read_gpt2, read_llama

MS = "com.microsoft"
OPSET = 17
BLOCK = 32
KV_LENGTH = "max_sequence_length"  # past and present share it: the buffer is one


class GraphBuilder:
    """Collects nodes and initializers; names every node after its output."""

    def __init__(self, bits: int | None):
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.bits = bits
        # MatMulNBits computes in int8 (activations quantized per block) instead of float32: on the 8x512 model the
        # int8 graph went from 6.6x slower than fp32 to 1.75x faster at batch 1, held-out perplexity 60.220 against
        # 60.248 at level 0 (fp32: 60.214; bench/results/llamacpp/int8-accuracy-level-4).
        self.accuracy_level = 4

    def weight(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], outputs: list[str], domain: str = "", **attrs) -> list[str]:
        self.nodes.append(helper.make_node(op_type, inputs, outputs, name=f"{op_type}/{outputs[0]}", domain=domain, **attrs))
        return outputs

    def matmul(self, x: str, w: np.ndarray, name: str, bias: np.ndarray | None = None) -> str:
        """x @ w (+ bias): float MatMul (then Add), or MatMulNBits with the bias inside."""
        out = f"{name}/out"
        if self.bits is None:
            y = self.op("MatMul", [x, self.weight(f"{name}.weight", w)], [out if bias is None else f"{name}/mm"])[0]
            return y if bias is None else self.op("Add", [y, self.weight(f"{name}.bias", bias)], [out])[0]
        packed, scales = quantize(w, self.bits, BLOCK)
        inputs = [x, self.weight(f"{name}.qweight", packed), self.weight(f"{name}.scales", scales)]
        if bias is not None:
            inputs += ["", "", self.weight(f"{name}.bias", bias)]
        K, N = w.shape
        return self.op("MatMulNBits", inputs, [out], domain=MS, K=K, N=N, bits=self.bits, block_size=BLOCK,
                       accuracy_level=self.accuracy_level)[0]


    def sequence_lengths(self) -> tuple[str, str]:
        """GenAI's subgraph: seqlens_k (B,) int32 = each row's total length - 1; total_sequence_length () int32."""
        mask_sum = self.op("ReduceSum", ["attention_mask", self.weight("axis_1", np.array([1], np.int64))], ["mask_sum"], keepdims=0)[0]
        seqlens = self.op("Sub", [mask_sum, self.weight("one", np.array(1, np.int64))], ["seqlens_k_int64"])[0]
        seqlens = self.op("Cast", [seqlens], ["seqlens_k"], to=TensorProto.INT32)[0]
        mask_shape = self.op("Shape", ["attention_mask"], ["mask_shape"])[0]
        total = self.op("Gather", [mask_shape, self.weight("index_1", np.array(1, np.int64))], ["total_int64"], axis=0)[0]
        return seqlens, self.op("Cast", [total], ["total_sequence_length"], to=TensorProto.INT32)[0]

    def lm_head(self, h: str, table: str, lm_head: np.ndarray, tied: bool) -> None:
        if tied and self.bits is None:
            # The file keeps one copy of the table; ONNX Runtime folds the Transpose once at session start.
            self.op("MatMul", [h, self.op("Transpose", [table], ["lm_head.weight"], perm=[1, 0])[0]], ["logits"])
        else:
            self.nodes.append(helper.make_node("Identity", [self.matmul(h, lm_head, "lm_head")], ["logits"], name="Identity/logits"))

    def model(self, name: str, n_layer: int, kv_heads: int, head_size: int, vocab: int, position_ids: bool) -> onnx.ModelProto:
        """Optimum's input and output names; past and present share the KV_LENGTH dimension."""
        kv = ["batch_size", kv_heads, KV_LENGTH, head_size]
        inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
                  helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"])]
        if position_ids:
            inputs.append(helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch_size", "sequence_length"]))
        outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch_size", "sequence_length", vocab])]
        for i in range(n_layer):
            for kind in ("key", "value"):
                inputs.append(helper.make_tensor_value_info(f"past_key_values.{i}.{kind}", TensorProto.FLOAT, kv))
                outputs.append(helper.make_tensor_value_info(f"present.{i}.{kind}", TensorProto.FLOAT, kv))
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS, 1)],
                                  producer_name="chatcluster training/fused_graph.py")
        model.ir_version = 8
        # ONNX Runtime registers SimplifiedLayerNormalization in the default domain (as GenAI's builder emits it),
        # which the onnx checker does not know: it checks a copy with that op moved to a domain it skips.
        checked = onnx.ModelProto()
        checked.CopyFrom(model)
        for node in checked.graph.node:
            if node.op_type == "SimplifiedLayerNormalization":
                node.domain = MS
        onnx.checker.check_model(checked)
        return model


def build(weights: Gpt2Weights, n_head: int, eps: float, bits: int | None) -> onnx.ModelProto:
    g = GraphBuilder(bits)
    V, C = weights.wte.shape
    D = C // n_head
    n_layer = len(weights.layers)
    seqlens, total = g.sequence_lengths()

    wte = g.weight("wte.weight", weights.wte)
    tokens = g.op("Gather", [wte, "input_ids"], ["tokens"])[0]
    positions = g.op("Gather", [g.weight("wpe.weight", weights.wpe), "position_ids"], ["positions"])[0]
    x = g.op("Add", [tokens, positions], ["x0"])[0]                                   # (B, S, C)
    h = g.op("LayerNormalization", [x, g.weight("h.0.ln_1.weight", weights.layers[0].ln_1[0]),
                                    g.weight("h.0.ln_1.bias", weights.layers[0].ln_1[1])], ["h0"], axis=-1, epsilon=eps)[0]

    for i, layer in enumerate(weights.layers):
        p = f"h.{i}"
        qkv = g.matmul(h, layer.qkv[0], f"{p}.attn.qkv", layer.qkv[1])              # (B, S, 3C)
        attn, _, _ = g.op("GroupQueryAttention",
                          [qkv, "", "", f"past_key_values.{i}.key", f"past_key_values.{i}.value", seqlens, total],
                          [f"{p}/attn", f"present.{i}.key", f"present.{i}.value"], domain=MS,
                          num_heads=n_head, kv_num_heads=n_head, scale=1.0 / float(np.sqrt(D)))
        proj = g.matmul(attn, layer.attn_proj[0], f"{p}.attn.proj")
        h, _, _, x = g.op("SkipLayerNormalization",
                          [proj, x, g.weight(f"{p}.ln_2.weight", layer.ln_2[0]), g.weight(f"{p}.ln_2.bias", layer.ln_2[1]),
                           g.weight(f"{p}.attn.proj.bias", layer.attn_proj[1])],
                          [f"{p}/h_mlp", "", "", f"{p}/x_mlp"], domain=MS, epsilon=eps)
        fc = g.matmul(h, layer.fc[0], f"{p}.mlp.fc")
        gelu = g.op("FastGelu", [fc, g.weight(f"{p}.mlp.fc.bias", layer.fc[1])], [f"{p}/gelu"], domain=MS)[0]
        mlp = g.matmul(gelu, layer.mlp_proj[0], f"{p}.mlp.proj")
        gamma, beta = weights.layers[i + 1].ln_1 if i + 1 < n_layer else weights.ln_f
        norm = f"h.{i + 1}.ln_1" if i + 1 < n_layer else "ln_f"
        h, _, _, x = g.op("SkipLayerNormalization",
                          [mlp, x, g.weight(f"{norm}.weight", gamma), g.weight(f"{norm}.bias", beta),
                           g.weight(f"{p}.mlp.proj.bias", layer.mlp_proj[1])],
                          [f"h{i + 1}", "", "", f"x{i + 1}"], domain=MS, epsilon=eps)

    g.lm_head(h, wte, weights.lm_head, weights.tied)
    return g.model("chatcluster-fused-decoder", n_layer, n_head, D, V, position_ids=True)


def build_folder(model_dir: str, quantize_as: str | None = None, out: str | None = None) -> str:
    """Writes the fused graph of a model folder beside its model.onnx; returns the file's path."""
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    bits = {None: None, "int8": 8, "int4": 4}[quantize_as]
    optimum = os.path.join(model_dir, "model.onnx")
    if config.get("model_type") == "gpt2":
        model = build(read_gpt2(optimum, config["n_layer"]), config["n_head"], config.get("layer_norm_epsilon", 1e-5), bits)
    elif config.get("model_type") == "llama":
        model = fused_llama.build(read_llama(optimum, config["num_hidden_layers"]), config, GraphBuilder(bits))
    else:
        raise NotImplementedError(f"{model_dir}: model_type {config.get('model_type')!r}; the fused builder reads GPT-2 and Llama exports")
    path = out or os.path.join(model_dir, f"model.fused{'.' + quantize_as if quantize_as else ''}.onnx")
    onnx.save(model, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", help="a model folder with config.json and an Optimum model.onnx")
    parser.add_argument("--quantize", choices=["int8", "int4"], help="MatMulNBits weights, blocks of 32")
    parser.add_argument("--out", help="output file (default: model.fused[.int8|.int4].onnx in the folder)")
    args = parser.parse_args()
    path = build_folder(args.model_dir, args.quantize, args.out)
    nodes = len(onnx.load(path).graph.node)
    print(f"wrote {path}: {nodes} nodes, {os.path.getsize(path) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
