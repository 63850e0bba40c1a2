using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Batchkeeper.Daemon.Aws;
using Batchkeeper.Daemon.Hosting;

namespace Batchkeeper.Daemon.Cli;

/// <summary>
/// What a command that asks AWS is missing, said in one sentence before any AWS client is made, as the AWS CLI says
/// "Unable to locate credentials": the backend (for <c>queue</c>), the region, the credentials. Without it the first
/// request fails with the SDK's account of every credentials source it tried, one exception each.
/// </summary>
internal static class AwsPreflight
{
    internal const string NoCredentials =
        "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE naming a profile in "
        + "~/.aws/credentials or ~/.aws/config, or run where a role provides them (EC2 instance profile, ECS task role, web identity)";

    /// <summary>Null when the command can go ahead; else the sentence saying what is missing (a usage error, exit 2).</summary>
    /// <param name="context">The command's context: its options and AWS settings.</param>
    /// <param name="aboutQueues">
    /// The command lists a Batch queue (<c>queue</c>): on the Local backend with no region anywhere (the demo's set-up,
    /// whose queue is named <c>local</c>), the sentence says that local jobs are in no Batch queue, not only that a region
    /// is missing. With a region it asks AWS Batch whatever the daemon's backend, as <c>validate --aws</c> does.
    /// </param>
    public static async Task<string?> MissingAsync(CliContext context, bool aboutQueues)
    {
        try
        {
            AwsRegionResolver.Resolve(context.AwsSettings.Region);
        }
        catch (AwsConfigurationException) when (aboutQueues && context.Options.Backend == BackendKind.Local)
        {
            return "the backend is Local (Batchkeeper:Backend), whose jobs are processes on this machine in no Batch queue "
                + "('batchkeeper status' and 'dashboard' show them), and no AWS region is configured to ask AWS Batch instead "
                + "(set AWS_REGION or Batchkeeper__Aws__Region, and AWS credentials)";
        }
        catch (AwsConfigurationException e)
        {
            return e.Message;
        }
        catch (ConfigurationException e)
        {
            return string.Join("; ", e.Problems);
        }

        try
        {
            await DefaultAWSCredentialsIdentityResolver.GetCredentialsAsync(null);
        }
        catch (AmazonClientException)
        {
            // The SDK's message lists every source it tried ("webIdentityTokenFile must be an absolute path" among them).
            return NoCredentials;
        }

        return null;
    }
}
