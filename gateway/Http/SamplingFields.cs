using System.Text.Json;
using ChatCluster.Inference;
using ChatCluster.Inference.Sampling;

namespace ChatCluster.Gateway.Http;

/// <summary>
/// Collects the sampling fields of a request body (OpenAI's and our extensions), shared by chat completions,
/// conversation defaults and conversation messages, so that each is validated the same way everywhere.
/// </summary>
internal sealed class SamplingFields(GatewayOptions options)
{
    private float? _temperature;
    private float? _topP;
    private int? _topK;
    private float? _repetitionPenalty;
    private long? _seed;
    private int? _maxTokens;
    private int? _maxCompletionTokens;
    private string[]? _stop;
    private int? _beamWidth;
    private Dictionary<int, float>? _logitBias;

    /// <summary>Whether any sampling field was present (and not null).</summary>
    public bool Any { get; private set; }

    public int BeamWidth => _beamWidth ?? 1;

    /// <summary>Reads <paramref name="property"/> if it is a sampling field; false leaves it to the caller.</summary>
    public bool TryRead(JsonProperty property)
    {
        var value = property.Value;
        var name = property.Name;
        if (value.ValueKind == JsonValueKind.Null)
        {
            return IsSamplingField(name);
        }

        switch (name)
        {
            case "temperature":
                _temperature = JsonFields.Number(value, name, 0, SamplingLimits.MaxTemperature);
                break;
            case "top_p":
                _topP = JsonFields.Number(value, name, 0, 1, minExclusive: true);
                break;
            case "top_k":
                _topK = (int)JsonFields.Integer(value, name, 0, int.MaxValue);
                break;
            case "repetition_penalty":
                _repetitionPenalty = JsonFields.Number(value, name, 0, SamplingLimits.MaxRepetitionPenalty, minExclusive: true);
                break;
            case "seed":
                _seed = JsonFields.Integer(value, name, long.MinValue, long.MaxValue);
                break;
            case "max_tokens":
                _maxTokens = (int)JsonFields.Integer(value, name, 1, int.MaxValue);
                break;
            case "max_completion_tokens":
                _maxCompletionTokens = (int)JsonFields.Integer(value, name, 1, int.MaxValue);
                break;
            case "stop":
                _stop = ReadStop(value);
                break;
            case "logit_bias":
                _logitBias = ReadLogitBias(value);
                break;
            case "beam_width":
                _beamWidth = (int)JsonFields.Integer(value, name, 1, options.MaxBeamWidth);
                break;
            default:
                return false;
        }

        Any = true;
        return true;
    }

    public SamplingParameters Build()
    {
        if (_maxTokens is { } legacy && _maxCompletionTokens is { } current && legacy != current)
        {
            throw JsonFields.Invalid("max_completion_tokens", $"max_tokens ({legacy}) and max_completion_tokens ({current}) disagree; send one of them");
        }

        var defaults = new SamplingParameters();
        return new SamplingParameters
        {
            Temperature = _temperature ?? defaults.Temperature,
            TopP = _topP ?? defaults.TopP,
            TopK = _topK ?? defaults.TopK,
            RepetitionPenalty = _repetitionPenalty ?? defaults.RepetitionPenalty,
            Seed = _seed,
            MaxTokens = _maxCompletionTokens ?? _maxTokens,
            Stop = _stop ?? [],
            BeamWidth = BeamWidth,
            LogitBias = _logitBias ?? defaults.LogitBias,
        };
    }

    private static bool IsSamplingField(string name) => name is "temperature" or "top_p" or "top_k" or "repetition_penalty"
        or "seed" or "max_tokens" or "max_completion_tokens" or "stop" or "beam_width" or "logit_bias";

    /// <summary>OpenAI's shape: an object from token id (as a string) to a bias between -100 and 100.</summary>
    private static Dictionary<int, float> ReadLogitBias(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw JsonFields.WrongType("logit_bias", value, "an object mapping token ids to numbers");
        }

        var biases = new Dictionary<int, float>();
        foreach (var entry in value.EnumerateObject())
        {
            if (!int.TryParse(entry.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
            {
                throw JsonFields.Invalid("logit_bias", $"keys must be token ids; '{entry.Name}' is not one");
            }

            biases[id] = JsonFields.Number(entry.Value, $"logit_bias.{entry.Name}", -SamplingLimits.MaxLogitBias, SamplingLimits.MaxLogitBias);
        }

        return biases;
    }

    private static string[] ReadStop(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            return [StopString(value, "stop")];
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw JsonFields.WrongType("stop", value, "a string or an array of strings");
        }

        var count = value.GetArrayLength();
        if (count > SamplingLimits.MaxStopStrings)
        {
            throw JsonFields.Invalid("stop", $"at most {SamplingLimits.MaxStopStrings} stop strings are allowed; got {count}");
        }

        var stops = new string[count];
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            stops[i] = StopString(item, $"stop[{i}]");
            i++;
        }

        return stops;
    }

    private static string StopString(JsonElement value, string param)
    {
        var stop = JsonFields.String(value, param);
        return stop.Length > 0 ? stop : throw JsonFields.Invalid(param, "a stop string must not be empty");
    }
}
