using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Batchkeeper.Daemon.Aws.Batch;
using Batchkeeper.Daemon.Aws.Batch.Model;
using Batchkeeper.Daemon.Tests.Aws.Fakes;

namespace Batchkeeper.Daemon.Tests.Aws.Batch;

/// <summary>
/// Every record the client serialises is checked against the official service model: its JSON names exist
/// in the shape, its types match the member types, and in requests exactly the model's required members are
/// required (the others are nullable, so they are left out when unset).
/// </summary>
public sealed class BatchModelConformanceTests
{
    // Records whose C# name differs from their model shape.
    private static readonly Dictionary<Type, string> ShapeNames = new()
    {
        [typeof(EnvironmentVariable)] = "KeyValuePair",
        [typeof(MisnamedShape)] = "CancelJobRequest",
    };

    // Response members deliberately looser than the model, and why.
    private static readonly HashSet<string> KnownLooseResponseMembers =
    [
        "JobDetail.startedAt", // absent until the job starts, although the model requires it
    ];

    private static readonly Type[] Roots =
    [
        typeof(SubmitJobRequest), typeof(SubmitJobResponse), typeof(DescribeJobsRequest), typeof(DescribeJobsResponse),
        typeof(ListJobsRequest), typeof(ListJobsResponse), typeof(TerminateJobRequest), typeof(TerminateJobResponse),
        typeof(CancelJobRequest), typeof(CancelJobResponse), typeof(DescribeJobQueuesRequest), typeof(DescribeJobQueuesResponse),
        typeof(DescribeJobDefinitionsRequest), typeof(DescribeJobDefinitionsResponse),
    ];

    private static readonly JsonElement Shapes = LoadShapes();

    public static TheoryData<string> RootNames()
    {
        var data = new TheoryData<string>();
        foreach (var root in Roots)
        {
            data.Add(root.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(RootNames))]
    public void Record_FollowsItsModelShape(string rootName)
    {
        var root = Roots.Single(t => t.Name == rootName);
        var problems = new List<string>();
        Check(root, asRequest: rootName.EndsWith("Request", StringComparison.Ordinal), problems, []);

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void Checker_CatchesAMisnamedOrMistypedMember()
    {
        // The checker itself must be able to fail: a shape with a wrong name and a wrong type.
        var problems = new List<string>();
        Check(typeof(MisnamedShape), asRequest: true, problems, []);

        Assert.Contains(problems, p => p.Contains("jobIdentifier", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("reason", StringComparison.Ordinal));
    }

    private static void Check(Type type, bool asRequest, List<string> problems, HashSet<Type> seen)
    {
        if (!seen.Add(type))
        {
            return;
        }

        var shapeName = ShapeNames.GetValueOrDefault(type, type.Name);
        if (!Shapes.TryGetProperty(shapeName, out var shape) || shape.GetProperty("type").GetString() != "structure")
        {
            problems.Add($"{type.Name}: no structure '{shapeName}' in the model");
            return;
        }

        var members = shape.TryGetProperty("members", out var m) ? m : default;
        var required = shape.TryGetProperty("required", out var r) ? r.EnumerateArray().Select(e => e.GetString()!).ToHashSet() : [];
        var info = TypeInfo(type);
        foreach (var property in info.Properties)
        {
            var where = $"{shapeName}.{property.Name}";
            if (members.ValueKind != JsonValueKind.Object || !members.TryGetProperty(property.Name, out var member))
            {
                problems.Add($"{where}: not a member of the model shape");
                continue;
            }

            var modelRequired = required.Contains(property.Name);
            if (asRequest)
            {
                if (modelRequired != property.IsRequired)
                {
                    problems.Add($"{where}: model required={modelRequired}, record required={property.IsRequired}");
                }

                if (!modelRequired && !IsNullable(property))
                {
                    problems.Add($"{where}: optional in the model, so it must be nullable (and left out when null)");
                }
            }
            else
            {
                if (property.IsRequired && !modelRequired)
                {
                    problems.Add($"{where}: required by the record but optional in the model");
                }

                var scalar = !IsCollection(property.PropertyType);
                if (modelRequired && scalar && !property.IsRequired && !KnownLooseResponseMembers.Contains(where))
                {
                    problems.Add($"{where}: required in the model but not by the record");
                }
            }

            CheckType(property.PropertyType, member.GetProperty("shape").GetString()!, where, asRequest, problems, seen);
        }

        foreach (var name in required)
        {
            if (asRequest && info.Properties.All(p => p.Name != name))
            {
                problems.Add($"{shapeName}.{name}: required by the model but missing from the record");
            }
        }
    }

    private static void CheckType(Type clr, string shapeName, string where, bool asRequest, List<string> problems, HashSet<Type> seen)
    {
        var shape = Shapes.GetProperty(shapeName);
        var type = Nullable.GetUnderlyingType(clr) ?? clr;
        switch (shape.GetProperty("type").GetString())
        {
            case "string":
                Expect(type == typeof(string), "string");
                break;
            case "integer":
                Expect(type == typeof(int), "int");
                break;
            case "long":
                // Every long in these shapes is an epoch-millisecond timestamp.
                Expect(type == typeof(DateTimeOffset) || type == typeof(long), "DateTimeOffset or long");
                break;
            case "boolean":
                Expect(type == typeof(bool), "bool");
                break;
            case "list":
                if (Expect(type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyList<>), "IReadOnlyList<>"))
                {
                    CheckType(type.GetGenericArguments()[0], shape.GetProperty("member").GetProperty("shape").GetString()!, where + "[]", asRequest, problems, seen);
                }

                break;
            case "map":
                if (Expect(type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>), "IReadOnlyDictionary<,>"))
                {
                    CheckType(type.GetGenericArguments()[0], shape.GetProperty("key").GetProperty("shape").GetString()!, where + ".key", asRequest, problems, seen);
                    CheckType(type.GetGenericArguments()[1], shape.GetProperty("value").GetProperty("shape").GetString()!, where + ".value", asRequest, problems, seen);
                }

                break;
            case "structure":
                if (Expect(ShapeNames.GetValueOrDefault(type, type.Name) == shapeName, $"the record for shape {shapeName}"))
                {
                    Check(type, asRequest, problems, seen);
                }

                break;
            case var other:
                problems.Add($"{where}: model type {other} is not handled by the checker");
                break;
        }

        bool Expect(bool ok, string wanted)
        {
            if (!ok)
            {
                problems.Add($"{where}: model shape {shapeName} wants {wanted}, the record has {clr}");
            }

            return ok;
        }
    }

    private static bool IsNullable(JsonPropertyInfo property) =>
        property.PropertyType.IsValueType ? Nullable.GetUnderlyingType(property.PropertyType) is not null : property.IsGetNullable;

    private static bool IsCollection(Type type) =>
        type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(IReadOnlyList<>) || type.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>));

    private static JsonTypeInfo TypeInfo(Type type) =>
        type == typeof(MisnamedShape)
            ? new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, TypeInfoResolver = new DefaultJsonTypeInfoResolver() }.GetTypeInfo(type)
            : BatchJsonContext.Default.GetTypeInfo(type) ?? throw new InvalidOperationException($"{type} is not in BatchJsonContext");

    private static JsonElement LoadShapes()
    {
        using var model = JsonDocument.Parse(File.ReadAllText(Path.Combine(SharedFolder.Aws, "batch-2016-08-10.service-2.json")));
        return model.RootElement.GetProperty("shapes").Clone();
    }

    // Stands in for CancelJobRequest with two mistakes: a name the model lacks, and reason as an int.
    private sealed record MisnamedShape
    {
        public required string JobIdentifier { get; init; }

        public required int Reason { get; init; }
    }
}
