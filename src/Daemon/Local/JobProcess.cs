using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Batchkeeper.Daemon.Local;

/// <summary>
/// A local job's process: the project's own small supervisor (<see cref="SupervisorScript"/>, run by <c>sh</c>) in a
/// session of its own (<c>setsid</c>), so that Ctrl-C in the daemon's terminal (SIGINT to its process group) never
/// reaches a job, and a job outlives a daemon killed with SIGKILL, to be adopted by the next start. The supervisor
/// runs the command, then writes its exit code to <c>&lt;job id&gt;.exitcode</c> beside the job's record (as
/// Nextflow's wrapper writes <c>.exitcode</c>), so the code is known even when no daemon was there to see the exit.
/// A process is known by its PID and its start time in <c>/proc</c> (a PID alone may have been reused).
/// </summary>
internal static class JobProcess
{
    /// <summary>What systemd sets for the service's main process only, never passed on to a job.</summary>
    private static readonly string[] SystemdOnlyVariables = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"];

    /// <summary>
    /// $1 the exit-code file, $2 the log, then the command. It waits for one line <c>go</c> on stdin, which the daemon
    /// writes only once the record holding this PID is on disk: a daemon killed before that leaves no record of the
    /// process, and the supervisor, reading end of file, exits 125 without running the command. A supervisor that is
    /// itself signalled (its whole group stopped: the daemon stopping its jobs, systemd stopping the service) writes no
    /// exit code, so the job is taken as interrupted, not as failed: only the command's own end is its result.
    /// </summary>
    public const string SupervisorScript =
        "ec=$1; log=$2; shift 2\n" +
        "trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM\n" +
        "exec >>\"$log\" 2>&1\n" +
        "IFS= read -r go || exit 125\n" +
        "[ \"$go\" = go ] || exit 125\n" +
        "\"$@\" </dev/null\n" +
        "c=$?\n" +
        "printf '%s\\n' \"$c\" >\"$ec.tmp\" && mv -f \"$ec.tmp\" \"$ec\"\n" +
        "exit \"$c\"\n";

    private const int SigKill = 9;

    /// <summary>Starts the supervisor, held before the command until <see cref="Release"/>.</summary>
    public static Process Start(string exitCodePath, string logPath, IReadOnlyList<string> command, string workingDirectory, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("setsid")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,

            // Never the daemon's own stdout/stderr: a job holding them would keep a pipe of whoever started the
            // daemon open after it ends. The supervisor sends everything to the log before it writes anything.
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "sh", "-c", SupervisorScript, "batchkeeper-job", exitCodePath, logPath })
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var argument in command)
        {
            start.ArgumentList.Add(argument);
        }

        // systemd's variables are for the service's main process alone (sd_notify(3)): a job that inherited
        // NOTIFY_SOCKET or the watchdog's could speak to systemd as if it were the daemon.
        foreach (var name in SystemdOnlyVariables)
        {
            start.Environment.Remove(name);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        if (!process.Start())
        {
            throw new InvalidOperationException("the process did not start");
        }

        process.StandardOutput.Close();
        process.StandardError.Close();
        return process;
    }

    /// <summary>Lets the supervisor run the command.</summary>
    public static void Release(Process process)
    {
        try
        {
            process.StandardInput.WriteLine("go");
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // It has already gone: its exit is seen like any other.
        }
    }

    /// <summary>
    /// The start time of <paramref name="pid"/> in clock ticks since boot (field 22 of <c>/proc/&lt;pid&gt;/stat</c>),
    /// or null when no such process is alive (gone, or a zombie).
    /// </summary>
    public static long? StartTime(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // "<pid> (<comm>) <state> …": comm may hold spaces and parentheses; the fields after the last ')' start at 3.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        if (fields.Length < 20 || fields[0] is "Z" or "X" || !long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks))
        {
            return null;
        }

        return ticks;
    }

    /// <summary>Whether the process that started at <paramref name="startTime"/> is still alive as <paramref name="pid"/>.</summary>
    public static bool IsAlive(int pid, long startTime) => StartTime(pid) == startTime;

    /// <summary>
    /// SIGKILL to the job's whole process group (the supervisor, the command and whatever it started), if the group's
    /// leader is still the process that was started. .NET has no call for a process group: this is libc's kill(-pgid).
    /// </summary>
    public static void KillGroup(int pid, long startTime)
    {
        if (IsAlive(pid, startTime))
        {
            _ = NativeMethods.kill(-pid, SigKill);
        }
    }

    /// <summary>The exit code the supervisor wrote, or null when it wrote none (killed, or never ran the command).</summary>
    public static int? ReadExitCode(string exitCodePath)
    {
        try
        {
            return int.TryParse(File.ReadAllText(exitCodePath).Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var code) ? code : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code for one int-only call.
        public static extern int kill(int pid, int sig);
#pragma warning restore SYSLIB1054
    }
}
