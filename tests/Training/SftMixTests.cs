using System.Globalization;
using System.Text.RegularExpressions;

namespace ChatCluster.Tests.Training;

/// <summary>
/// Fine-tuning batches mix their rows in the configured shares (plain text 20%, dialogues about asked common
/// words 40%, other dialogues the rest), each step's batch is the same however it is reached,
/// and a dialogue is recognised by the word it defines (tests/Training/sft_mix_check.py, 6,400 rows).
/// </summary>
public sealed partial class SftMixTests
{
    [Fact]
    public void Fine_tuning_rows_come_from_each_source_in_its_share()
    {
        string output = PythonScript.Run(TimeSpan.FromMinutes(3), "tests/Training/sft_mix_check.py");

        Match shares = Shares().Match(output);
        Assert.True(shares.Success, output);
        // 6,400 draws: a share's standard error is at most 0.6 points, so 2.5 points is about four of them.
        Assert.InRange(Share(shares, "text"), 0.175, 0.225);
        Assert.InRange(Share(shares, "common"), 0.375, 0.425);
        Assert.InRange(Share(shares, "other"), 0.375, 0.425);
        Assert.Contains("dialogue_word=river", output);
    }

    private static double Share(Match m, string name) => double.Parse(m.Groups[name].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"text=(?<text>\S+) common=(?<common>\S+) other=(?<other>\S+)")]
    private static partial Regex Shares();
}
