using ChatCluster.Bench;

// dotnet run -c Release --project bench -- [--model DIR] [--concurrency 1,2,4,8,16,32] [--prompt 32] [--tokens 64]
//                                          [--turns 10] [--no-peer] [--out bench/results]
var options = BenchOptions.Parse(args);
return await BenchRunner.RunAsync(options);
