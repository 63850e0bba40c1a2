using System.Reflection;
using System.Runtime.Loader;

namespace Batchkeeper.Daemon.Tests.Aws.Fakes;

/// <summary>
/// A private copy of AWSSDK.Core and the daemon assembly. The SDK reads the AWS config and credentials
/// files once per process and keeps them in static state (FallbackRegionFactory.Reset does not clear it),
/// so a test that depends on what those files say runs against a copy nobody else in the process has used.
/// </summary>
internal sealed class FreshSdkContext() : AssemblyLoadContext("fresh-aws-sdk", isCollectible: true), IDisposable
{
    private Assembly? _daemon;

    /// <summary>Calls an internal static method of the daemon assembly in this context; unwraps its exception.</summary>
    public object? CallDaemon(string typeName, string method, Type[] parameterTypes, params object?[] arguments)
    {
        _daemon ??= LoadFromAssemblyName(new AssemblyName("batchkeeper"));
        var type = _daemon.GetType(typeName, throwOnError: true)!;
        return Invoke(type.GetMethod(method, BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic, parameterTypes)!, null, arguments);
    }

    /// <summary>Creates an instance of a daemon type in this context.</summary>
    public object CreateDaemon(string typeName, params object?[] arguments)
    {
        _daemon ??= LoadFromAssemblyName(new AssemblyName("batchkeeper"));
        var type = _daemon.GetType(typeName, throwOnError: true)!;
        return Activator.CreateInstance(type, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, null, arguments, null)!;
    }

    public static object? Call(object target, string method, params object?[] arguments) =>
        Invoke(target.GetType().GetMethod(method, [.. arguments.Select(a => a!.GetType())])!, target, arguments);

    public static object? Get(object target, string property) => target.GetType().GetProperty(property)!.GetValue(target);

    public void Dispose() => Unload();

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        // Only the SDK and the daemon are copied; everything else (logging abstractions, the BCL) is shared.
        var name = assemblyName.Name ?? "";
        if (name != "batchkeeper" && !name.StartsWith("AWSSDK.", StringComparison.Ordinal))
        {
            return null;
        }

        var path = Path.Combine(AppContext.BaseDirectory, name + ".dll");
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }

    private static object? Invoke(MethodInfo method, object? target, object?[] arguments)
    {
        try
        {
            return method.Invoke(target, arguments);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }
}
