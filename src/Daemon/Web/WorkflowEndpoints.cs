using System.Text.Json;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Registry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Batchkeeper.Daemon.Web;

/// <summary>
/// <c>/api/workflows</c> and below: what the registry holds of every managed workflow. Every answer is made from the
/// snapshots the passes published (never from the files on disk, never waiting for a pass), through the
/// <see cref="WorkflowView"/> worked out once per snapshot; only a slot's log is read from elsewhere
/// (<see cref="SlotLogEndpoint"/>).
/// </summary>
internal static class WorkflowEndpoints
{
    /// <summary>Grid rows per page unless <c>size</c> says otherwise, and the most it may say.</summary>
    public const int DefaultPageSize = 200;

    public const int MaxPageSize = 1_000;

    private static readonly string[] ReadMethods = [HttpMethods.Get, HttpMethods.Head];

    public static void Map(IEndpointRouteBuilder routes, IServiceProvider daemon)
    {
        var changes = daemon.GetRequiredService<IWorkflowChanges>();
        var live = daemon.GetRequiredService<LiveUpdates>();
        var clock = daemon.GetRequiredService<TimeProvider>();
        var logs = new SlotLogEndpoint(daemon);
        const string one = "/api/workflows/{project}/{workflow}";
        routes.MapMethods("/api/workflows", ReadMethods, context => List(context, changes, live, clock));
        routes.MapMethods(one, ReadMethods, context => WithWorkflow(context, changes, view =>
            StatusEndpoints.WriteJsonAsync(context, view.Snapshot)));
        routes.MapMethods(one + "/grid", ReadMethods, context => WithWorkflow(context, changes, view => Grid(context, view)));
        routes.MapMethods(one + "/failures", ReadMethods, context => WithWorkflow(context, changes, view =>
            WriteAsync(context, new FailureList(view.Id, view.Failures.Sum(g => g.Count), view.Failures))));
        routes.MapMethods(one + "/slot", ReadMethods, context => WithWorkflow(context, changes, view =>
            WithSlot(context, view, slot => WriteAsync(context, new SlotAnswer(view.Id, view.Snapshot.Backend, slot)))));
        routes.MapMethods(one + "/log", ReadMethods, context => WithWorkflow(context, changes, view =>
            WithSlot(context, view, slot => logs.WriteAsync(context, view, slot))));
        routes.MapGet(LiveUpdates.Path, live.StreamAsync); // a HEAD would be a stream without a body

    }

    private static Task List(HttpContext context, IWorkflowChanges changes, LiveUpdates live, TimeProvider clock)
    {
        var version = live.Version; // before the read: a change after it is announced again, never lost
        var rows = changes.Snapshots.Select(s => WorkflowView.Of(s).Row)
            .OrderBy(r => r.Project, StringComparer.Ordinal).ThenBy(r => r.File, StringComparer.Ordinal).ToArray();
        return WriteAsync(context, new WorkflowList(WorkflowApi.ListSchema, version, clock.GetUtcNow(), rows));
    }

    /// <summary>
    /// One page of the grid: <c>state</c> (state names, comma-separated: samples with a slot in any of them), <c>q</c>
    /// (text the sample name contains, any case), <c>page</c> (from 0) and <c>size</c> (rows a page).
    /// </summary>
    private static Task Grid(HttpContext context, WorkflowView view)
    {
        var query = context.Request.Query;
        var states = new HashSet<SlotState>();
        foreach (var name in query["state"].SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (SlotStateNames.FromWire(name) is not { } state)
            {
                return ErrorAsync(context, StatusCodes.Status400BadRequest,
                    $"state: '{Core.Workflows.Quoted.Name(name)}' is no slot state (expected {string.Join(", ", SlotStateNames.InProgressOrder.Select(s => s.ToWire()))})");
            }

            states.Add(state);
        }

        if (!TryNumber(query["page"], 0, 0, int.MaxValue, out var page) || !TryNumber(query["size"], DefaultPageSize, 1, MaxPageSize, out var size))
        {
            return ErrorAsync(context, StatusCodes.Status400BadRequest, $"page is a number from 0, size a number from 1 to {MaxPageSize}");
        }

        var text = query["q"].ToString().Trim();
        var matching = view.Rows.Where(row =>
            (text.Length == 0 || row.Sample.Contains(text, StringComparison.OrdinalIgnoreCase))
            && (states.Count == 0 || row.Cells.Any(cell => cell is not null && states.Contains(cell.State)))).ToArray();
        var pages = Math.Max(1, (matching.Length + size - 1) / size);
        page = Math.Min(page, pages - 1);
        var rows = matching.Skip(page * size).Take(size)
            .Select(row => new GridPageRow(row.Sample, Array.ConvertAll(row.Cells, cell => cell?.State.ToWire()))).ToArray();
        return WriteAsync(context, new GridPage(view.Row, view.Analyses, view.Rows.Count, matching.Length, page, size, pages, rows));
    }

    private static bool TryNumber(Microsoft.Extensions.Primitives.StringValues value, int fallback, int min, int max, out int number)
    {
        number = fallback;
        return value.Count == 0 || (int.TryParse(value.ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out number)
            && number >= min && number <= max);
    }

    private static Task WithWorkflow(HttpContext context, IWorkflowChanges changes, Func<WorkflowView, Task> then)
    {
        var values = context.Request.RouteValues;
        var view = WorkflowView.Find(changes, (string)values["project"]!, (string)values["workflow"]!, out var why);
        return view is null ? ErrorAsync(context, StatusCodes.Status404NotFound, why!) : then(view);
    }

    /// <summary>The slot named by <c>sample</c> and <c>analysis</c> in the query (a sample's name may hold any character, a slash too).</summary>
    private static Task WithSlot(HttpContext context, WorkflowView view, Func<SlotRecord, Task> then)
    {
        var sample = context.Request.Query["sample"].ToString();
        var analysis = context.Request.Query["analysis"].ToString();
        return view.Slot(sample, analysis) is { } slot
            ? then(slot)
            : ErrorAsync(context, StatusCodes.Status404NotFound,
                $"no slot for sample '{Core.Workflows.Quoted.Name(sample)}' and analysis '{Core.Workflows.Quoted.Name(analysis)}' in {view.Id}");
    }

    public static async Task WriteAsync<T>(HttpContext context, T value)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(context.Response.Body, value, WorkflowApi.Compact, context.RequestAborted);
    }

    public static Task ErrorAsync(HttpContext context, int status, string error)
    {
        context.Response.StatusCode = status;
        return WriteAsync(context, new ApiError(error));
    }
}
