using ChatCluster.Inference.Sampling;

namespace ChatCluster.Tests.Inference;

public sealed class StopStringMatcherTests
{
    [Fact]
    public void A_stop_string_split_across_tokens_is_found_and_never_emitted()
    {
        var matcher = new StopStringMatcher(["END"]);
        var emitted = string.Concat(new[] { "Hello E", "N", "D and more" }.Select(matcher.Append));
        Assert.True(matcher.Stopped);
        Assert.Equal("Hello ", emitted);
    }

    [Fact]
    public void A_false_start_is_held_back_and_then_released()
    {
        var matcher = new StopStringMatcher(["</s>"]);
        Assert.Equal("a", matcher.Append("a</"));
        Assert.Equal("</x", matcher.Append("x"));
        Assert.Equal("b", matcher.Append("b<"));
        Assert.False(matcher.Stopped);
        Assert.Equal("", matcher.Append(""));
        Assert.Equal("<", matcher.Flush());
    }

    [Fact]
    public void The_earliest_of_several_stop_strings_wins()
    {
        var matcher = new StopStringMatcher(["world", "lo"]);
        Assert.Equal("hel", matcher.Append("hello world"));
    }

    [Fact]
    public void Without_stop_strings_text_passes_straight_through()
    {
        var matcher = new StopStringMatcher([]);
        Assert.Equal("abc", matcher.Append("abc"));
        Assert.Equal("", matcher.Flush());
    }
}
