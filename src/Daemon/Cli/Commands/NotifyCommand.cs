using Batchkeeper.Daemon.Notifications;

namespace Batchkeeper.Daemon.Cli.Commands;

/// <summary><c>batchkeeper notify test</c>: one test message to each configured webhook, and what each answered.</summary>
internal sealed class NotifyCommand(CliContext context)
{
    public async Task<int> TestAsync(CancellationToken cancellationToken)
    {
        var hooks = context.Options.Notifications.Webhooks;
        if (hooks.Count == 0)
        {
            return context.Fail(ExitCodes.Usage,
                "no webhooks are configured: set Batchkeeper:Notifications:Webhooks (e.g. Batchkeeper__Notifications__Webhooks__0__Url=https://hooks.slack.com/services/…)");
        }

        using var http = new HttpClient { Timeout = context.Options.Notifications.Timeout };
        var client = new WebhookClient(http, context.Clock);
        var now = context.Clock.GetUtcNow();
        var failed = 0;
        for (var i = 0; i < hooks.Count; i++)
        {
            var test = new NotificationEvent
            {
                Id = NotificationEvent.IdOf(NotificationEvents.Test, i, now.UtcTicks),
                Type = NotificationEvents.Test,
                Time = now,
                Summary = $"A test message from Batchkeeper on {Environment.MachineName} ({context.ProjectsRoot}): webhook {i + 1} works.",
            };
            var message = new NotificationMessage { Id = test.Id, Time = now, Events = [test] };
            var result = await client.PostAsync(hooks[i].Url, MessageFormats.Body(message, hooks[i].ParsedFormat), cancellationToken);
            var verdict = result is PostResult.Delivered ? "ok" : "FAILED";
            failed += result is PostResult.Delivered ? 0 : 1;
            await context.Output.WriteLineAsync($"{WebhookOptions.Describe(i, hooks[i].Url)}, {hooks[i].Format}: {result.Answer} ({verdict})");
        }

        return failed == 0 ? ExitCodes.Ok : ExitCodes.NotOk;
    }
}
