using System.Globalization;
using System.Text.RegularExpressions;

namespace ChatCluster.Tests.Training;

/// <summary>
/// A training phase stopped mid-way and resumed from its checkpoint ends with the same weights as one that ran
/// straight through: the checkpoint holds the model, the optimizer's moments, the history and the elapsed time,
/// and each step's batch depends only on the step (tests/Training/resume_check.py).
/// </summary>
public sealed partial class TrainingResumeTests
{
    [Fact]
    public void A_phase_resumed_from_its_checkpoint_matches_an_uninterrupted_one()
    {
        string output = PythonScript.Run(TimeSpan.FromMinutes(5), "tests/Training/resume_check.py");

        Match result = Result().Match(output);
        Assert.True(result.Success, output);
        Assert.Equal(3, int.Parse(result.Groups["from"].Value, CultureInfo.InvariantCulture));
        Assert.Equal(6, int.Parse(result.Groups["steps"].Value, CultureInfo.InvariantCulture));
        Assert.True(double.Parse(result.Groups["difference"].Value, CultureInfo.InvariantCulture) < 1e-6, output);
    }

    [GeneratedRegex(@"resumed_from_step=(?<from>\d+) steps=(?<steps>\d+) max_difference=(?<difference>\S+)")]
    private static partial Regex Result();
}
