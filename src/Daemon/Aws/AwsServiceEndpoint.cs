using Amazon;

namespace Batchkeeper.Daemon.Aws;

/// <summary>
/// Where one AWS service is reached and which region its requests are signed for: the configured endpoint, or the
/// regional AWS one. Resolved once per service, when its client is first needed (a host on the local backend never
/// needs a region).
/// </summary>
/// <param name="ServiceUrl">The endpoint, always ending in <c>/</c>.</param>
/// <param name="RegionSource">Where the region came from, for the start-up line.</param>
internal sealed record AwsServiceEndpoint(Uri ServiceUrl, RegionEndpoint Region, string RegionSource)
{
    /// <param name="signingName">The SigV4 service name, e.g. <c>batch</c>, for messages.</param>
    /// <param name="endpointPrefix">The host prefix of the AWS endpoint, e.g. <c>batch</c>.</param>
    /// <param name="serviceUrl">The configured endpoint, or null for the AWS one.</param>
    /// <param name="region">The configured region, or null for the environment's.</param>
    /// <exception cref="AwsConfigurationException">No region, or a malformed region or URL.</exception>
    public static AwsServiceEndpoint Resolve(string signingName, string endpointPrefix, string? serviceUrl, string? region)
    {
        var resolved = AwsRegionResolver.Resolve(region);
        Uri endpoint;
        if (string.IsNullOrWhiteSpace(serviceUrl))
        {
            var dnsSuffix = string.IsNullOrEmpty(resolved.Endpoint.PartitionDnsSuffix) ? "amazonaws.com" : resolved.Endpoint.PartitionDnsSuffix;
            endpoint = new Uri($"https://{endpointPrefix}.{resolved.Endpoint.SystemName}.{dnsSuffix}/");
        }
        else
        {
            endpoint = ParseServiceUrl(serviceUrl)
                ?? throw new AwsConfigurationException($"The {signingName} service URL '{serviceUrl}' is not an absolute http:// or https:// URL.");
        }

        return new AwsServiceEndpoint(endpoint, resolved.Endpoint, resolved.Source);
    }

    /// <summary>Parses an absolute http(s) URL and makes it end in <c>/</c>; null when it is not one.</summary>
    public static Uri? ParseServiceUrl(string value)
    {
        if (!Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || !string.IsNullOrEmpty(uri.Query)
            || !string.IsNullOrEmpty(uri.Fragment))
        {
            return null;
        }

        return WithTrailingSlash(uri);
    }

    /// <summary>The URL with its path ending in <c>/</c>, so relative operation paths resolve below it.</summary>
    public static Uri WithTrailingSlash(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return uri.AbsolutePath.EndsWith('/') ? uri : new Uri(uri.GetLeftPart(UriPartial.Path) + "/");
    }
}
