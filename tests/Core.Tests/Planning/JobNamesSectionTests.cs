using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Workflows;

namespace Batchkeeper.Core.Tests.Planning;

public sealed class JobNamesSectionTests
{
    private static string NameOf(string analysisFields)
    {
        var workflow = WorkflowParser.Parse($$"""
            { "workflow_name": "wf", "analyses": [ { "name": "a", "job_definition": "d:1", "queue": "q", "outputs": ["o/{sample_name}"], {{analysisFields}} } ] }
            """, "wf.json", "p");
        var samples = new[] { new Sample("s1", new Dictionary<string, string> { ["sample_name"] = "s1" }) };
        return WorkflowPlanner.Plan(workflow, samples, new WorkflowLocation("p", "wf.json", "/p"), RetryLimits.Default).Slots[0].Spec!.JobName;
    }

    [Fact]
    public void SpecsThatFlattenAlike_StillGetDifferentNames()
    {
        var withParameter = NameOf("\"parameters\": { \"command\": \"a\" }, \"command\": [\"b\"]");
        var withLongerCommand = NameOf("\"command\": [\"a\", \"command\", \"b\"]");
        Assert.NotEqual(withParameter, withLongerCommand);
    }
}
