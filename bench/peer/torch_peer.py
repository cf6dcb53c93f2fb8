"""The benchmark's peer: the same weights in PyTorch with a KV cache, as a user would run them instead.

Loads a model folder written by training/export.py (config.json + model.onnx), rebuilds training/model.py's
GPT from the ONNX initializers (MatMul weights were transposed by constant folding; the node that consumes
each names its module), and times a static batch of N sequences: one batched prefill, then greedy decode steps
with the cache. A static batch of equal-length prompts is the easiest job a batcher can get, so the C# engine's
continuous batching is compared against the peer's best case.

  /usr/bin/python3 bench/peer/torch_peer.py --model models/chatcluster-tiny --concurrency 1,2,4 --prompt 32 --tokens 64
Prints one JSON object per concurrency level.

  /usr/bin/python3 bench/peer/torch_peer.py --model DIR --threads 2 --serve
The bench's line protocol (bench/PeerProcess.cs), so that its rounds interleave with the other engines': prints
"ready"; then "run TOKENS SECONDS IDS;IDS;..." runs that static batch again and again for SECONDS and answers
one JSON line; "ids TOKENS IDS" answers one greedy generation's ids; "quit" ends it.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "training"))
from model import GPT, GPTConfig  # noqa: E402


def load(model_dir: str) -> GPT:
    with open(os.path.join(model_dir, "config.json")) as f:
        hf = json.load(f)
    config = GPTConfig(vocab_size=hf["vocab_size"], n_positions=hf["n_positions"], n_embd=hf["n_embd"],
                       n_layer=hf["n_layer"], n_head=hf["n_head"])
    gpt = GPT(config).eval()
    graph = onnx.load(os.path.join(model_dir, "model.onnx")).graph
    consumer = {i: n.name for n in graph.node for i in n.input}
    state = {}
    for init in graph.initializer:
        array = torch.from_numpy(numpy_helper.to_array(init).copy())
        if init.name.startswith("gpt."):
            state[init.name[len("gpt."):]] = array
        elif init.name.startswith("onnx::MatMul"):
            # "/gpt/h.0/attn/c_attn/MatMul" holds c_attn's weight, transposed to (in, out).
            module = consumer[init.name].strip("/").split("/")[1:-1]
            state[".".join(module) + ".weight"] = array.t().contiguous()
    missing, unexpected = gpt.load_state_dict(state, strict=False)
    missing = [m for m in missing if m != "lm_head.weight" or "wte.weight" not in state]
    if missing or unexpected:
        raise SystemExit(f"weights do not match the model: missing {missing}, unexpected {unexpected}")
    return gpt


@torch.no_grad()
def generate(gpt: GPT, ids: torch.Tensor, tokens: int, timings: tuple[list, list] | None = None) -> torch.Tensor:
    """Greedy, end tokens ignored: (B, P) prompt ids -> (B, tokens) new ids. Timings: (ttft ms, [step ms])."""
    batch, prompt = ids.shape
    start = time.perf_counter()
    logits, past = gpt(ids)
    next_ids = logits[:, -1].argmax(-1, keepdim=True)  # (B, 1)
    out = [next_ids]
    last = time.perf_counter()
    if timings is not None:
        timings[0].append((last - start) * 1000)
    for t in range(tokens - 1):
        position = torch.full((batch, 1), prompt + t, dtype=torch.int64)
        logits, past = gpt(next_ids, position_ids=position, past_key_values=past)
        next_ids = logits[:, -1].argmax(-1, keepdim=True)
        out.append(next_ids)
        now = time.perf_counter()
        if timings is not None:
            timings[1].append((now - last) * 1000)
        last = now
    return torch.cat(out, dim=1)


def serve(gpt: GPT) -> None:
    print("ready", flush=True)
    for line in sys.stdin:
        parts = line.split(" ", 3)
        if parts[0] == "quit":
            return
        tokens = int(parts[1])
        if parts[0] == "ids":
            ids = torch.tensor([[int(x) for x in parts[2].split(",")]], dtype=torch.int64)
            print(",".join(str(int(x)) for x in generate(gpt, ids, tokens)[0]), flush=True)
            continue
        seconds = float(parts[2])
        ids = torch.tensor([[int(x) for x in row.split(",")] for row in parts[3].strip().split(";")], dtype=torch.int64)
        ttft, steps = [], []
        jobs = 0
        start = time.perf_counter()
        while True:
            generate(gpt, ids, tokens, (ttft, steps))
            jobs += 1
            if time.perf_counter() - start >= seconds:
                break
        elapsed = time.perf_counter() - start
        ttft.sort()
        steps.sort()
        pick = lambda xs, q: xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0.0  # noqa: E731
        print(json.dumps({
            "jobs": jobs, "seconds": elapsed, "tokens_per_second": jobs * ids.shape[0] * tokens / elapsed,
            "step_ms": sum(steps) / max(1, len(steps)), "ttft_p50_ms": pick(ttft, 0.5), "ttft_p99_ms": pick(ttft, 0.99),
            "itl_p50_ms": pick(steps, 0.5), "itl_p99_ms": pick(steps, 0.99)}), flush=True)


@torch.no_grad()
def run(gpt: GPT, batch: int, prompt: int, tokens: int, seed: int) -> dict:
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, gpt.config.vocab_size - 3, (batch, prompt), generator=generator)
    start = time.perf_counter()
    logits, past = gpt(ids)
    next_ids = logits[:, -1].argmax(-1, keepdim=True)  # (B, 1)
    first = time.perf_counter()
    steps = []
    for t in range(tokens - 1):
        step_start = time.perf_counter()
        position = torch.full((batch, 1), prompt + t, dtype=torch.int64)
        logits, past = gpt(next_ids, position_ids=position, past_key_values=past)
        next_ids = logits[:, -1].argmax(-1, keepdim=True)
        steps.append(time.perf_counter() - step_start)
    total = time.perf_counter() - start
    steps.sort()
    pick = lambda q: steps[min(len(steps) - 1, int(q * len(steps)))] * 1000 if steps else 0.0  # noqa: E731
    return {
        "engine": "pytorch", "concurrency": batch, "tokens_per_second": batch * tokens / total,
        "step_ms": sum(steps) / max(1, len(steps)) * 1000, "ttft_p50_ms": (first - start) * 1000,
        "ttft_p99_ms": (first - start) * 1000, "itl_p50_ms": pick(0.5), "itl_p99_ms": pick(0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--concurrency", default="1,2,4,8,16,32")
    parser.add_argument("--prompt", type=int, default=32)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--serve", action="store_true", help="the bench's line protocol on stdin/stdout")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gpt = load(args.model)
    if args.serve:
        serve(gpt)
        return
    run(gpt, 1, args.prompt, 4, seed=0)  # warm-up
    for n in (int(c) for c in args.concurrency.split(",")):
        result = run(gpt, n, args.prompt, args.tokens, seed=n)
        result["peak_rss_mb"] = _peak_rss_mb()
        print(json.dumps(result), flush=True)


def _peak_rss_mb() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
