#!/usr/bin/env bash
# The GPU measurement of issue 11, in one script; it has not run on a GPU yet (no session had one).
#
#   bench/gpu/run.sh publish DIR   here (with .NET): the 4 x 256 model and a self-contained bench built against
#                                  Microsoft.ML.OnnxRuntime.Gpu.Linux, into DIR
#   bench/gpu/run.sh measure DIR   on the GPU machine (CUDA 13 + cuDNN 9 on LD_LIBRARY_PATH, no .NET needed):
#                                  the engine at 1 and 32 sequences, ms per decode step in DIR/results/bench.md
#
# DEVICE=cpu runs the same steps on the CPU build, to check the script on a machine without a GPU (done: the
# CPU run gave 1.7 ms a step at batch 1 and 18 ms at 32 on two busy cores). The GPU publish is ~300 MB, most of
# it libonnxruntime_providers_cuda.so; where transfers are capped, carry it in xz parts.
set -euo pipefail
cd "$(dirname "$0")/../.."
step=${1:?publish or measure}
out=$(realpath -m "${2:?output folder}")
device=${DEVICE:-cuda}
gpu=$([ "$device" = cuda ] && echo true || echo false)

case "$step" in
publish)
  # A 4 x 256 GPT-2 style model (the size of the H100 reference figure: 3.2 ms a step at batch 32); its weights
  # barely trained: speed does not depend on them.
  [ -f "$out/model/model.onnx" ] || /usr/bin/python3 training/pipeline.py --smoke \
      --set model.vocab_size=2048 --set model.n_positions=256 --set model.n_embd=256 --set model.n_layer=4 \
      --set model.n_head=4 --set pretrain.steps=10 --set sft.steps=5 --set eval_prompts=2 --set eval_tokens=2000 \
      --out "$out/run" && rm -rf "$out/model" && cp -r "$out/run/model" "$out/model" && rm -rf "$out/run"
  dotnet publish bench -c Release -r linux-x64 --self-contained -p:OnnxRuntimeGpu=$gpu -o "$out/bench"
  ;;
measure)
  # The bench checks its greedy ids against nothing here (no peers): ONNX Runtime GenAI and PyTorch run on the CPU.
  "$out/bench/ChatCluster.Bench" --device "$device" --model "$out/model" --engines chatcluster --turns 0 \
      --concurrency 1,32 --rounds 5 --seconds 2 --threads 1 --out "$out/results"
  ;;
*)
  echo "usage: bench/gpu/run.sh publish|measure DIR" >&2
  exit 2
  ;;
esac
