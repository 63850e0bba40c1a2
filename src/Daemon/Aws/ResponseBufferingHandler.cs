namespace Batchkeeper.Daemon.Aws;

/// <summary>
/// Reads each response's body into memory inside the attempt, below the resilience pipeline. The pipeline's timeout
/// covers only what the handlers below it do, and the transport returns as soon as the headers are in: without this,
/// a body that stalls half way would hang outside every attempt's timeout and never be retried, and the retry rules
/// could not read an error code that JSON 1.1 services (CloudWatch Logs) put only in the body. Ours because the
/// library has no such handler; it suits AWS JSON APIs (small bodies), not streaming downloads.
/// </summary>
internal sealed class ResponseBufferingHandler : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        try
        {
            await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }
}
