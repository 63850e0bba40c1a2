using System.Text.RegularExpressions;
using Amazon;
using Amazon.Runtime;

namespace Batchkeeper.Daemon.Aws;

/// <summary>The AWS configuration is unusable (no region, a malformed region or URL).</summary>
public sealed class AwsConfigurationException : Exception
{
    public AwsConfigurationException()
    {
    }

    public AwsConfigurationException(string message)
        : base(message)
    {
    }

    public AwsConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A resolved region and where it came from (for the start-up log line).</summary>
internal sealed record ResolvedRegion(RegionEndpoint Endpoint, string Source);

/// <summary>
/// Finds the region the way the AWS CLI does: the explicit option, else <c>AWS_REGION</c>, else
/// <c>AWS_DEFAULT_REGION</c>, else the SDK's fallback (profile, instance metadata).
/// </summary>
internal static partial class AwsRegionResolver
{
    public static ResolvedRegion Resolve(string? explicitRegion) =>
        Resolve(explicitRegion, Environment.GetEnvironmentVariable, FallbackRegionFactory.GetRegionEndpoint);

    /// <param name="explicitRegion">The configured region, or null.</param>
    /// <param name="getEnvironmentVariable">Reads one environment variable.</param>
    /// <param name="fallback">
    /// The SDK's chain. <see cref="FallbackRegionFactory.GetRegionEndpoint()"/> reads <c>AWS_REGION</c> and the
    /// profile but not <c>AWS_DEFAULT_REGION</c>, and returns null when it finds nothing; both are why the
    /// environment is read here first.
    /// </param>
    public static ResolvedRegion Resolve(
        string? explicitRegion,
        Func<string, string?> getEnvironmentVariable,
        Func<RegionEndpoint?> fallback)
    {
        ArgumentNullException.ThrowIfNull(getEnvironmentVariable);
        ArgumentNullException.ThrowIfNull(fallback);

        if (FromText(explicitRegion, $"{AwsOptions.SectionName}:Region") is { } configured)
        {
            return configured;
        }

        foreach (var variable in new[] { "AWS_REGION", "AWS_DEFAULT_REGION" })
        {
            if (FromText(getEnvironmentVariable(variable), variable) is { } fromEnvironment)
            {
                return fromEnvironment;
            }
        }

        RegionEndpoint? endpoint;
        try
        {
            endpoint = fallback();
        }
        catch (Exception e) when (e is AmazonClientException or IOException or InvalidOperationException)
        {
            throw new AwsConfigurationException($"Could not read the AWS region from the AWS profile: {e.Message}", e);
        }

        if (endpoint is not null && FromText(endpoint.SystemName, "the AWS profile") is { } fromProfile)
        {
            return fromProfile;
        }

        throw new AwsConfigurationException(
            "No AWS region is configured. Set one of: the option Batchkeeper:Aws:Region (environment variable " +
            "Batchkeeper__Aws__Region), the environment variable AWS_REGION or AWS_DEFAULT_REGION, or 'region' " +
            "in the AWS profile named by AWS_PROFILE (default 'default') in ~/.aws/config.");
    }

    /// <summary>Whether <paramref name="region"/> looks like an AWS region name (<c>us-east-1</c>, <c>us-gov-west-1</c>).</summary>
    public static bool IsWellFormed(string region) => RegionName().IsMatch(region);

    private static ResolvedRegion? FromText(string? value, string source)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        var name = value.Trim();
        if (!IsWellFormed(name))
        {
            throw new AwsConfigurationException($"The AWS region '{value}' from {source} is not a region name like 'us-east-1'.");
        }

        return new ResolvedRegion(RegionEndpoint.GetBySystemName(name), source);
    }

    [GeneratedRegex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", RegexOptions.CultureInvariant)]
    private static partial Regex RegionName();
}
