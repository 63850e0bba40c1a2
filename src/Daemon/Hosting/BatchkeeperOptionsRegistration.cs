using System.Text.RegularExpressions;
using Batchkeeper.Core.Workflows;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Hosting;

/// <summary>The one way <see cref="BatchkeeperOptions"/> are bound and checked, for the daemon and the CLI alike.</summary>
public static class BatchkeeperOptionsRegistration
{
    public static IServiceCollection AddBatchkeeperOptions(this IServiceCollection services)
    {
        services.AddOptions<BatchkeeperOptions>().BindConfiguration(BatchkeeperOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BatchkeeperOptions>, BatchkeeperOptionsValidator>());
        return services;
    }

    /// <summary>The bound and validated options, or every problem as one line each.</summary>
    /// <exception cref="ConfigurationException">A value cannot be converted, or the validator found problems.</exception>
    public static BatchkeeperOptions Resolve(IServiceProvider services, IConfiguration configuration) =>
        Resolve<BatchkeeperOptions>(services, configuration);

    /// <summary>
    /// Options of any section registered with <c>AddOptions&lt;T&gt;().BindConfiguration(…)</c> and a validator (the
    /// AWS settings too), bound and validated as the host does at start-up, or every problem as one line each.
    /// </summary>
    /// <exception cref="ConfigurationException">A value cannot be converted, or the validator found problems.</exception>
    public static T Resolve<T>(IServiceProvider services, IConfiguration configuration)
        where T : class
    {
        try
        {
            return services.GetRequiredService<IOptions<T>>().Value;
        }
        catch (OptionsValidationException e)
        {
            throw new ConfigurationException(e.Failures.ToArray());
        }
        catch (InvalidOperationException e)
        {
            // "Failed to convert configuration value '…' at 'Batchkeeper:ReconcileInterval' to type 'System.TimeSpan'."
            throw new ConfigurationException([ConversionProblem(configuration, e)]);
        }
    }

    /// <summary>One line for a value the binder cannot convert: the setting, the value and the type expected.</summary>
    internal static string ConversionProblem(IConfiguration configuration, Exception e)
    {
        var match = Regex.Match(e.Message, "at '(?<key>[^']+)' to type '(?<type>[^']+)'");
        if (!match.Success)
        {
            return $"{BatchkeeperOptions.Section}: {Quoted.Escape(e.Message)}";
        }

        var key = match.Groups["key"].Value;
        var type = match.Groups["type"].Value switch
        {
            "System.TimeSpan" => "a time span such as 00:00:30",
            "System.Int32" => "a whole number",
            "System.Double" => "a number",
            "System.Boolean" => "true or false",
            var other when other.EndsWith("BackendKind", StringComparison.Ordinal) => "Local or Aws",
            var other => other,
        };
        return $"{key}: '{Quoted.Name(configuration[key] ?? "")}' is not allowed: expected {type}";
    }
}
