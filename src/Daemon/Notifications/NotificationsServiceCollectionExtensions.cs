using Batchkeeper.Daemon.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Notifications;

public static class NotificationsServiceCollectionExtensions
{
    public const string HttpClientName = "batchkeeper-webhooks";

    /// <summary>
    /// Notifications, when webhooks are configured (nothing otherwise): the feed subscriber that fills the outbox and the
    /// sender that empties it. The webhooks' HttpClient logs nothing of its own, since its request lines would hold the URL.
    /// </summary>
    public static IServiceCollection AddNotifications(this IServiceCollection services, bool configured)
    {
        services.AddHttpClient(HttpClientName, (sp, http) => http.Timeout = sp.GetRequiredService<IOptions<BatchkeeperOptions>>().Value.Notifications.Timeout)
            .RemoveAllLoggers();
        services.AddSingleton(sp => new WebhookClient(sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName), sp.GetRequiredService<TimeProvider>()));
        if (!configured)
        {
            return services;
        }

        services.AddSingleton(sp => new Outbox(sp.GetRequiredService<IOptions<BatchkeeperOptions>>().Value.Notifications.Directory));
        services.AddSingleton<WebhookSender>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookSender>());
        services.AddHostedService<NotificationWatcher>();
        return services;
    }
}
