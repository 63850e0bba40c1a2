using System.Text;

namespace Batchkeeper.Daemon.Notifications;

/// <summary>What a webhook made of one post.</summary>
public abstract record PostResult(string Answer)
{
    /// <summary>Taken (2xx).</summary>
    public sealed record Delivered(string Answer) : PostResult(Answer);

    /// <summary>Worth trying again: 5xx, 408, 429, a timeout or no connection. <paramref name="RetryAfter"/> is the webhook's own wish.</summary>
    public sealed record TryAgain(string Answer, TimeSpan? RetryAfter) : PostResult(Answer);

    /// <summary>Refused for good (another 4xx): the message is dropped.</summary>
    public sealed record Refused(string Answer) : PostResult(Answer);
}

/// <summary>
/// Posts one body to one webhook and says what came of it, in words that never hold the URL (its path is the secret of
/// a Slack webhook): the status code, or the kind of connection failure.
/// </summary>
public sealed class WebhookClient(HttpClient http, TimeProvider clock)
{
    public async Task<PostResult> PostAsync(string url, string body, CancellationToken cancellationToken)
    {
        try
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await http.PostAsync(new Uri(url), content, cancellationToken);
            var answer = $"{(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd();
            var code = (int)response.StatusCode;
            return code switch
            {
                >= 200 and < 300 => new PostResult.Delivered(answer),
                429 or 408 or >= 500 => new PostResult.TryAgain(answer, RetryAfter(response)),
                _ => new PostResult.Refused(answer),
            };
        }
        catch (HttpRequestException e)
        {
            // HttpRequestError names the kind (ConnectionError, NameResolutionError…) without the URL.
            return new PostResult.TryAgain($"no answer ({e.HttpRequestError})", null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new PostResult.TryAgain($"no answer within {http.Timeout.TotalSeconds:0.#} s", null);
        }
    }

    /// <summary>The Retry-After header, as seconds or as a date.</summary>
    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        if (response.Headers.RetryAfter is not { } header)
        {
            return null;
        }

        if (header.Delta is { } delta)
        {
            return delta;
        }

        return header.Date is { } date ? Max(date - clock.GetUtcNow(), TimeSpan.Zero) : null;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
