using ChatCluster.Inference;
using ChatCluster.Inference.Scheduling;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Inference;

/// <summary>Continuous batching on the real test model: results, joins and leaves, backpressure, cache reuse.</summary>
public sealed class BatchSchedulerTests
{
    private static readonly SamplingParameters Greedy24 = new() { Temperature = 0, MaxTokens = 24 };

    [Fact]
    public async Task A_greedy_request_gives_the_same_text_alone_and_inside_a_full_batch()
    {
        using var harness = new SchedulerHarness();
        var target = harness.Prompt(1, 12);
        var alone = await SchedulerHarness.ReadAsync(harness.Submit(target, Greedy24));

        // Sixteen other sequences of other lengths and samplings share every step with it.
        var others = Enumerable.Range(0, 16)
            .Select(i => harness.Submit(harness.Prompt(100 + i, 3 + i * 2), new SamplingParameters { Temperature = 0.8f, Seed = i, MaxTokens = 30 }))
            .ToList();
        var batched = harness.Submit(target, Greedy24);
        var inBatch = await SchedulerHarness.ReadAsync(batched);
        await Task.WhenAll(others.Select(SchedulerHarness.ReadAsync));

        Assert.Equal(alone.Text, inBatch.Text);
        Assert.Equal(alone.Finish, inBatch.Finish);
    }

    [Fact]
    public async Task A_seeded_request_gives_the_same_text_alone_and_in_a_batch()
    {
        using var harness = new SchedulerHarness();
        var sampling = new SamplingParameters { Temperature = 0.9f, TopP = 0.95f, Seed = 1234, MaxTokens = 20 };
        var prompt = harness.Prompt(2, 9);
        var alone = await SchedulerHarness.ReadAsync(harness.Submit(prompt, sampling));
        var others = Enumerable.Range(0, 6).Select(i => harness.Submit(harness.Prompt(200 + i, 5 + i), Greedy24)).ToList();
        var batched = await SchedulerHarness.ReadAsync(harness.Submit(prompt, sampling));
        await Task.WhenAll(others.Select(SchedulerHarness.ReadAsync));
        Assert.Equal(alone.Text, batched.Text);
    }

    [Fact]
    public async Task Max_tokens_ends_the_sequence_with_length()
    {
        using var harness = new SchedulerHarness(endTokens: false);
        var sequence = harness.Submit(harness.Prompt(3, 4), new SamplingParameters { Temperature = 0, MaxTokens = 7 });
        var reply = await SchedulerHarness.ReadAsync(sequence);
        Assert.Equal(FinishReason.Length, reply.Finish);
        Assert.Equal(7, sequence.Generated);
    }

    [Fact]
    public async Task A_cancelled_sequence_leaves_the_batch_within_one_step()
    {
        // The bundled model's longer window keeps these sequences running long enough to cancel one mid-way.
        using var harness = new SchedulerHarness(endTokens: false, model: TestPaths.BundledModel);
        var sampling = new SamplingParameters { Temperature = 0 };

        // Fifteen neighbours make each step heavier, so a test thread slowed by a loaded machine still finds the
        // sequence running when it cancels it.
        var keeps = Enumerable.Range(0, 15).Select(i => harness.Submit(harness.Prompt(400 + i, 6), sampling)).ToList();
        Sequence leaves;
        int generatedAtCancel;
        SchedulerHarness.Reply cancelled;
        var attempts = 0;
        do
        {
            // A test thread starved for the whole window (parallel tests on two cores) finds the sequence already at
            // the end of its context: that try says nothing about cancelling, so it runs again, a few times at most.
            leaves = harness.Submit(harness.Prompt(5 + attempts, 6), sampling);
            await AsyncTimeouts.UntilAsync(() => leaves.Generated > 3, "the sequence decodes");
            generatedAtCancel = leaves.Generated;
            harness.Scheduler.Cancel(leaves);
            cancelled = await SchedulerHarness.ReadAsync(leaves);
        }
        while (cancelled.Finish == FinishReason.Length && ++attempts < 5);

        // Each step gives a running sequence one token: the step in flight may finish, the next frees the row.
        Assert.Equal(FinishReason.Cancelled, cancelled.Finish);
        Assert.True(leaves.Generated - generatedAtCancel <= 1, $"{leaves.Generated - generatedAtCancel} tokens after the cancel");
        Assert.Equal(1, harness.Scheduler.CancelledSequences);
        Assert.InRange(harness.Scheduler.MaxCancelLatencySteps, 0, 1);
        await AsyncTimeouts.UntilAsync(() => harness.Scheduler.ActiveRows <= 15, "the row is freed");
        keeps.ForEach(harness.Scheduler.Cancel);
    }

    [Fact]
    public void A_full_queue_refuses_with_an_overloaded_error()
    {
        using var harness = new SchedulerHarness(new SchedulerOptions { MaxBatchRows = 1, MaxQueuedRequests = 2 }, endTokens: false);
        var sampling = new SamplingParameters { Temperature = 0 };

        // One row and two queue places: of four back-to-back requests, at most three fit.
        var accepted = new List<ChatCluster.Inference.Scheduling.Sequence>();
        var refused = new List<OverloadedException>();
        for (var i = 0; i < 4; i++)
        {
            try
            {
                accepted.Add(harness.Submit(harness.Prompt(6 + i, 4), sampling));
            }
            catch (OverloadedException e)
            {
                refused.Add(e);
            }
        }

        Assert.NotEmpty(refused);
        Assert.InRange(accepted.Count, 2, 3);
        Assert.Contains("try again", refused[0].Message);
        accepted.ForEach(harness.Scheduler.Cancel);
    }

    [Fact]
    public async Task Short_prompts_that_arrive_together_are_prefilled_together()
    {
        using var harness = new SchedulerHarness(new SchedulerOptions { PrefillChunkTokens = 128 }, endTokens: false);
        var sampling = new SamplingParameters { Temperature = 0, MaxTokens = 50 };
        var sequences = Enumerable.Range(0, 8).Select(i => harness.Submit(harness.Prompt(300 + i, 5 + i), sampling)).ToList();
        await AsyncTimeouts.UntilAsync(() => sequences.All(s => s.Generated >= 1), "every sequence has its first token");

        // Eight prompts of at most 12 tokens fit one 128-token prefill: those that were queued when a step began
        // went through one model call together (the loop may have started a step before the last arrived).
        Assert.True(harness.Scheduler.LargestPrefillGroup >= 2, $"largest prefill group: {harness.Scheduler.LargestPrefillGroup}");
        sequences.ForEach(harness.Scheduler.Cancel);
    }

    [Fact]
    public async Task A_long_prompt_is_prefilled_in_chunks_while_running_streams_keep_decoding()
    {
        // The bundled model's longer window and fifteen neighbours keep the running stream going for hundreds of
        // steps, so a test thread slowed by a loaded machine still finds it running when the long prompt arrives.
        using var harness = new SchedulerHarness(new SchedulerOptions { PrefillChunkTokens = 8 }, endTokens: false, model: TestPaths.BundledModel);
        var neighbours = Enumerable.Range(0, 15).Select(i => harness.Submit(harness.Prompt(500 + i, 4), new SamplingParameters { Temperature = 0 })).ToList();
        var running = harness.Submit(harness.Prompt(10, 4), new SamplingParameters { Temperature = 0 });
        await AsyncTimeouts.UntilAsync(() => running.Generated > 2, "the running stream decodes");
        Assert.False(running.IsDone);

        var generatedBefore = running.Generated;
        var stepsBefore = harness.Scheduler.Steps;
        var joining = harness.Submit(harness.Prompt(11, 60), new SamplingParameters { Temperature = 0, MaxTokens = 1 });
        await SchedulerHarness.ReadAsync(joining);

        // 60 prompt tokens in chunks of 8 take 8 steps, and each of them also decoded the running stream.
        Assert.True(harness.Scheduler.Steps - stepsBefore >= 8, $"prefill took {harness.Scheduler.Steps - stepsBefore} steps");
        Assert.True(running.Generated - generatedBefore >= 7, $"the running stream got {running.Generated - generatedBefore} tokens meanwhile");
        neighbours.Append(running).ToList().ForEach(harness.Scheduler.Cancel);
    }

    [Fact]
    public async Task A_kept_cache_prefills_only_the_new_tokens_and_changes_nothing_in_the_reply()
    {
        using var harness = new SchedulerHarness();
        var turn1 = harness.Prompt(12, 30);
        await SchedulerHarness.ReadAsync(harness.Submit(turn1, Greedy24, cacheKey: "conversation-1"));

        int[] turn2 = [.. turn1, .. harness.Prompt(13, 10)];
        var before = harness.Scheduler.PrefilledTokens;
        var cached = await SchedulerHarness.ReadAsync(harness.Submit(turn2, Greedy24, cacheKey: "conversation-1"));
        var prefilled = harness.Scheduler.PrefilledTokens - before;
        Assert.InRange(prefilled, 1, 10);

        before = harness.Scheduler.PrefilledTokens;
        var fresh = await SchedulerHarness.ReadAsync(harness.Submit(turn2, Greedy24, cacheKey: "conversation-2"));
        Assert.Equal(turn2.Length, harness.Scheduler.PrefilledTokens - before);
        Assert.Equal(fresh.Text, cached.Text);
    }
}
