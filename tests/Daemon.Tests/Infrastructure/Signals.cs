using System.Globalization;
using System.Runtime.InteropServices;

namespace Batchkeeper.Daemon.Tests.Infrastructure;

/// <summary>
/// POSIX signals to a child process, sent directly (a <c>kill</c> process would take milliseconds to start, longer than a
/// snapshot write lasts), and whether the process has come to a stop.
/// </summary>
internal static class Signals
{
    // The same numbers on Linux x86-64 and arm64.
    private const int SigInt = 2;
    private const int SigKill = 9;
    private const int SigCont = 18;
    private const int SigStop = 19;

    public static void Stop(int pid) => Send(pid, SigStop);

    public static void Continue(int pid) => Send(pid, SigCont);

    public static void Kill(int pid) => Send(pid, SigKill);

    /// <summary>SIGINT to every process of the group <paramref name="pgid"/>: what Ctrl-C in a terminal does.</summary>
    public static void InterruptGroup(int pgid) => Send(-pgid, SigInt);

    /// <summary>
    /// Waits until every thread of <paramref name="pid"/> is stopped (state T in <c>/proc</c>). A thread inside a system
    /// call such as fsync stops when the call returns, before it runs any more of its own code.
    /// </summary>
    public static bool WaitUntilStopped(int pid, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (AllThreadsStopped(pid))
            {
                return true;
            }

            Thread.Sleep(1); // polling /proc: there is no event for "stopped" short of ptrace
        }

        return false;
    }

    private static bool AllThreadsStopped(int pid)
    {
        try
        {
            foreach (var task in Directory.GetDirectories($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/task"))
            {
                // "<tid> (<comm>) <state> …": comm may hold spaces and parentheses, the state follows the last ')'.
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
                if (state is not ("T" or "t" or "Z" or "X"))
                {
                    return false;
                }
            }

            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // a thread went away while being read: look again
        }
    }

    private static void Send(int pid, int signal)
    {
        if (NativeMethods.kill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code in the test project for one int-only call.
        public static extern int kill(int pid, int sig);
#pragma warning restore SYSLIB1054
    }
}
