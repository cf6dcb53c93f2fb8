using System.Runtime.InteropServices;
using ChatCluster.Bench;
using Spectre.Console;

// dotnet run -c Release --project bench -- [--model DIR[,DIR...]] [--concurrency 1,4,16,32] [--prompt 32] [--tokens 64]
//                                          [--engines chatcluster,genai,pytorch[,chatcluster-spin,genai-nospin]] [--threads N]
//                                          [--rounds 5] [--warmup 1] [--seconds 2] [--pytorch-max N[,N]] [--turns 10]
//                                          [--no-peer] [--memory-bound] [--out bench/results]
//                                          (engines also: llamacpp-f32, llamacpp-q8[, -unified], chatcluster-fused-int8)
// dotnet run -c Release --project bench -- http --target NAME=CREATE_URL[,SEND_URL] [--target ...] [--streams 16] [--seconds 5]
//                                          [--tokens 64] [--warmup 1] [--rounds 5] [--model DIR] [--out bench/results]
// dotnet run -c Release --project bench -- cluster [--streams 16] [--seconds 5] [--tokens 64] [--warmup 1] [--rounds 5] [--model DIR]
//                                          [--out bench/results]
// dotnet run -c Release --project bench -- load [--silos 1] [--clients 64] [--minutes 3] [--turns-per-conversation 3] [--tokens 32]
//                                          [--sample-seconds 5] [--silo-env KEY=VALUE] [--label NAME] [--model DIR] [--out bench/results]
// dotnet run -c Release --project bench -- stack [--streams 1,16,64] [--seconds 5] [--tokens 64] [--warmup 2] [--rounds 5] [--max-batch 32]
//                                          [--silo-env KEY=VALUE] [--no-genai] [--spin] [--model DIR] [--out bench/results]
//                                          (the engine in-process vs the silos over HTTP, and GenAI's own loop)
// dotnet run -c Release --project bench -- roles [--phase hop,cache] [--streams 16] [--seconds 5] [--tokens 64] [--opening N]
//                                          [--warmup 1] [--rounds 5] [--model DIR] [--out bench/results]
//                                          (all vs front+inference; cache routing vs random on turn 2 after an N-sentence opening)
// dotnet run -c Release --project bench -- structured [--batch 32] [--tokens 64] [--rounds 5] [--seconds 3] [--model DIR]
//                                          [--out bench/results/structured]   (schema compile, mask cost, constrained tokens/s)
// dotnet run -c Release --project bench -- quality --text RUN/data/pretrain_heldout.txt [--model DIR] [--graphs G1,G2,...]
//                                          [--prompts 16] [--tokens 64] [--out bench/results/fused]   (quantized graphs vs the first)
// dotnet run -c Release --project bench -- lengths [--model DIR] [--rows 16] [--rounds 15] [--out bench/results/fused]
//                                          (a fused decode call over rows of equal vs different lengths)
if (args is ["quality", .. var qualityArgs])
{
    return await QualityBenchmark.RunAsync(qualityArgs);
}

if (args is ["lengths", .. var lengthsArgs])
{
    return await LengthsBenchmark.RunAsync(lengthsArgs);
}

if (args is not [("http" or "cluster" or "load" or "stack" or "roles" or "structured") and var mode, .. var rest])
{
    return await BenchRunner.RunAsync(BenchOptions.Parse(args));
}

// Ctrl+C and SIGTERM cancel the rounds instead of ending the process, so the finally blocks stop the servers
// the cluster mode started (without a handler, SIGTERM ended the bench and left its servers running).
using var cancel = new CancellationTokenSource();
void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    cancel.Cancel();
}

using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
try
{
    if (mode == "load")
    {
        return await new LoadBenchmark(LoadOptions.Parse(rest)).RunAsync(cancel.Token);
    }

    if (mode == "structured")
    {
        return await new StructuredBenchmark(StructuredOptions.Parse(rest)).RunAsync(cancel.Token);
    }

    if (mode == "stack")
    {
        return await new StackBenchmark(StackOptions.Parse(rest)).RunAsync(cancel.Token);
    }

    var options = HttpBenchOptions.Parse(mode, rest);
    return mode switch
    {
        "http" => await new HttpBenchmark(options).RunAsync("http", "Running servers", cancel.Token),
        "roles" => await RolesBenchmark.RunAsync(options, cancel.Token),
        _ => await ClusterLauncher.RunAsync(options, cancel.Token),
    };
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    AnsiConsole.MarkupLine("[yellow]Cancelled.[/]");
    return 130;
}
catch (Exception e) when (e is ArgumentException or InvalidOperationException or TimeoutException)
{
    AnsiConsole.MarkupLine($"[red]{Markup.Escape(mode)}: {Markup.Escape(e.Message)}[/]");
    return 2;
}
