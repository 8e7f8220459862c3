namespace RingAttention.Attention;

/// <summary>
/// The feature map φ of linear attention, applied to every element of q and k: elu(x) + 1 (Linear Transformer's,
/// always positive), relu(x) (zero for x ≤ 0), or the identity (any sign).
/// </summary>
public enum LinearFeatureMap
{
    Elu1,
    Relu,
    Identity,
}

/// <summary>Names, values and properties of <see cref="LinearFeatureMap"/>.</summary>
public static class LinearFeatureMaps
{
    /// <summary>The names the CLI and the job spec take.</summary>
    public static readonly IReadOnlyList<string> Names = ["elu1", "relu", "identity"];

    public static string Name(this LinearFeatureMap map) => map switch
    {
        LinearFeatureMap.Elu1 => "elu1",
        LinearFeatureMap.Relu => "relu",
        _ => "identity",
    };

    /// <summary>The map of <paramref name="name"/>, or a <see cref="SpecValidationException"/> naming the choices.</summary>
    public static LinearFeatureMap Parse(string name, string field = "featureMap") => name.ToLowerInvariant() switch
    {
        "elu1" => LinearFeatureMap.Elu1,
        "relu" => LinearFeatureMap.Relu,
        "identity" => LinearFeatureMap.Identity,
        _ => throw new SpecValidationException(field, $"feature map '{name}' is not one of {string.Join(", ", Names)}"),
    };

    /// <summary>Whether φ(q)·φ(k) sums can be zero or negative, so that normalising by them may divide by zero.</summary>
    public static bool CanZeroDenominator(this LinearFeatureMap map) => map != LinearFeatureMap.Elu1;

    public static double Apply(this LinearFeatureMap map, double x) => map switch
    {
        LinearFeatureMap.Elu1 => x > 0 ? x + 1 : Math.Exp(x),
        LinearFeatureMap.Relu => x > 0 ? x : 0,
        _ => x,
    };

    public static float Apply(this LinearFeatureMap map, float x) => map switch
    {
        LinearFeatureMap.Elu1 => x > 0 ? x + 1 : MathF.Exp(x),
        LinearFeatureMap.Relu => x > 0 ? x : 0,
        _ => x,
    };
}
