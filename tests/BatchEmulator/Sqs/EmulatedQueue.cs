using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Batchkeeper.BatchEmulator.Sqs;

namespace Batchkeeper.BatchEmulator;

/// <summary>A message of an <see cref="EmulatedQueue"/> as it stands.</summary>
/// <param name="AvailableAt">When it is (or was) visible to ReceiveMessage: after its delay, hold or visibility timeout.</param>
/// <param name="ReceiveCount">How often ReceiveMessage handed it out (ApproximateReceiveCount).</param>
public sealed record EmulatedMessage(string MessageId, string Body, DateTimeOffset SentAt, DateTimeOffset AvailableAt, int ReceiveCount);

/// <summary>
/// One SQS standard queue in memory: messages become visible after their delay, a received message is invisible for
/// its visibility timeout and visible again if it was not deleted by then, and a long poll returns as soon as a
/// message is visible. Messages are handed out oldest-visible first (real SQS only tries to).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "It is an SQS queue, and SQS calls it one.")]
public sealed class EmulatedQueue
{
    private static readonly TimeSpan LongestWait = TimeSpan.FromSeconds(20);

    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly SortedSet<QueuedMessage> _messages = new(QueuedMessage.ByAvailability);
    private readonly Dictionary<string, QueuedMessage> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, QueuedMessage> _held = new(StringComparer.Ordinal);
    private long _order;
    private TaskCompletionSource _changed = NewSignal();

    internal EmulatedQueue(string name, BatchEmulatorOptions options)
    {
        Name = name;
        AccountId = options.AccountId;
        Arn = $"arn:aws:sqs:{options.Region}:{options.AccountId}:{name}";
        VisibilityTimeout = options.EventsQueueVisibilityTimeout;
        _time = options.TimeProvider;
        CreatedAt = _time.GetUtcNow();
    }

    /// <summary>Queue name.</summary>
    public string Name { get; }

    /// <summary>Account that owns it (the emulator's).</summary>
    public string AccountId { get; }

    /// <summary><c>arn:aws:sqs:REGION:ACCOUNT:NAME</c>.</summary>
    public string Arn { get; }

    /// <summary><c>http://127.0.0.1:PORT/ACCOUNT/NAME</c>, known once the emulator listens.</summary>
    public string Url { get; private set; } = "";

    /// <summary>The queue's default visibility timeout (a ReceiveMessage may ask for another).</summary>
    public TimeSpan VisibilityTimeout { get; }

    /// <summary>When the queue was made (with the emulator).</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>Messages visible now (ApproximateNumberOfMessages).</summary>
    public int ApproximateNumberOfMessages => Count(visible: true, received: null);

    /// <summary>Received messages still within their visibility timeout (ApproximateNumberOfMessagesNotVisible).</summary>
    public int ApproximateNumberOfMessagesNotVisible => Count(visible: false, received: true);

    /// <summary>Messages not yet visible because of a delay or a reordering hold (ApproximateNumberOfMessagesDelayed).</summary>
    public int ApproximateNumberOfMessagesDelayed => Count(visible: false, received: false);

    /// <summary>Every message, in the order they would be handed out.</summary>
    public IReadOnlyList<EmulatedMessage> Messages
    {
        get
        {
            lock (_gate)
            {
                return [.. _messages.Select(m => new EmulatedMessage(m.Id, m.Body, m.SentAt, m.AvailableAt, m.ReceiveCount))];
            }
        }
    }

    /// <summary>Puts a message of the test's own in the queue (e.g. a foreign job's event); returns its MessageId.</summary>
    public string Send(string body, TimeSpan? delay = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        return Enqueue(body, delay ?? TimeSpan.Zero);
    }

    /// <summary>Deletes every message, as PurgeQueue.</summary>
    public void Purge()
    {
        lock (_gate)
        {
            _messages.Clear();
            _byId.Clear();
            _held.Clear();
            SignalLocked();
        }
    }

    internal void Bind(Uri baseAddress) => Url = new Uri(baseAddress, $"{AccountId}/{Name}").ToString();

    /// <summary>Adds a message visible after <paramref name="delay"/>; returns its MessageId.</summary>
    internal string Enqueue(string body, TimeSpan delay) => Add(body, delay, group: null, hold: false, TimeSpan.Zero).Id;

    /// <summary>
    /// Adds a message of a <paramref name="group"/> (a job) visible after <paramref name="delay"/>. A message of the group
    /// held back earlier is released right behind this one; otherwise, with <paramref name="hold"/>, this one is held
    /// back for at most <paramref name="holdFor"/>, waiting for the group's next message. Returns whether it was held.
    /// </summary>
    internal bool EnqueueInGroup(string body, TimeSpan delay, string group, bool hold, TimeSpan holdFor) =>
        Add(body, delay, group, hold, holdFor).HeldFor is not null;

    private QueuedMessage Add(string body, TimeSpan delay, string? group, bool hold, TimeSpan holdFor)
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var message = new QueuedMessage(Guid.NewGuid().ToString(), body, Md5Hex(body), now)
            {
                AvailableAt = now + delay,
                Order = ++_order,
            };
            if (group is not null && _held.Remove(group, out var held))
            {
                held.HeldFor = null;
                _messages.Add(message);
                if (held.AvailableAt > message.AvailableAt)
                {
                    Rekey(held, message.AvailableAt);
                }
            }
            else
            {
                if (group is not null && hold)
                {
                    message.AvailableAt += holdFor;
                    message.HeldFor = group;
                    _held[group] = message;
                }

                _messages.Add(message);
            }

            _byId[message.Id] = message;
            SignalLocked();
            return message;
        }
    }

    /// <summary>
    /// Hands out up to <paramref name="max"/> visible messages, waiting up to <paramref name="wait"/> for the first one;
    /// each is then invisible for <paramref name="visibility"/>.
    /// </summary>
    internal async Task<IReadOnlyList<ReceivedMessage>> ReceiveAsync(int max, TimeSpan wait, TimeSpan visibility, CancellationToken ct)
    {
        var deadline = _time.GetUtcNow() + (wait > LongestWait ? LongestWait : wait);
        while (true)
        {
            Task changed;
            TimeSpan pause;
            lock (_gate)
            {
                var now = _time.GetUtcNow();
                var taken = TakeLocked(max, visibility, now);
                if (taken.Count > 0 || now >= deadline)
                {
                    return taken;
                }

                changed = _changed.Task;
                var next = _messages.Count > 0 && _messages.Min!.AvailableAt < deadline ? _messages.Min.AvailableAt : deadline;
                pause = next - now;
            }

            try
            {
                await changed.WaitAsync(pause, _time, ct).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // a message became visible, or the wait is over: look again
            }
        }
    }

    /// <summary>
    /// DeleteMessage: true if the message went. A well-formed handle of a message already deleted, or not the latest
    /// handle of its message, deletes nothing and is no error, as in SQS ("the request succeeds, but the message
    /// might not be deleted").
    /// </summary>
    internal bool Delete(string receiptHandle)
    {
        var id = MessageIdOf(receiptHandle);
        lock (_gate)
        {
            if (!_byId.TryGetValue(id, out var message) || message.ReceiptHandle != receiptHandle)
            {
                return false;
            }

            _messages.Remove(message);
            _byId.Remove(id);
            return true;
        }
    }

    /// <summary>ChangeMessageVisibility: the message, received with this handle and still invisible, is visible again after <paramref name="timeout"/>.</summary>
    internal void ChangeVisibility(string receiptHandle, TimeSpan timeout)
    {
        var id = MessageIdOf(receiptHandle);
        lock (_gate)
        {
            if (!_byId.TryGetValue(id, out var message) || message.ReceiptHandle != receiptHandle)
            {
                throw SqsErrorException.InvalidParameter(
                    $"Value {receiptHandle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.");
            }

            var now = _time.GetUtcNow();
            if (message.AvailableAt <= now)
            {
                throw new SqsErrorException(400, "MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", "Message is not in flight.");
            }

            Rekey(message, now + timeout);
            SignalLocked();
        }
    }

    private List<ReceivedMessage> TakeLocked(int max, TimeSpan visibility, DateTimeOffset now)
    {
        var taken = _messages.TakeWhile(m => m.AvailableAt <= now).Take(max).ToList();
        foreach (var message in taken)
        {
            if (message.HeldFor is { } group)
            {
                _held.Remove(group); // its hold ran out before the job's next event came
                message.HeldFor = null;
            }

            message.ReceiveCount++;
            message.FirstReceivedAt ??= now;
            message.ReceiptHandle = NewReceiptHandle(message);
            Rekey(message, now + visibility);
        }

        return [.. taken.Select(m => new ReceivedMessage(m.Id, m.ReceiptHandle!, m.Body, m.Md5, m.SentAt, m.ReceiveCount, m.FirstReceivedAt!.Value))];
    }

    /// <summary>Moves a message to its new visibility time, behind every message already there.</summary>
    private void Rekey(QueuedMessage message, DateTimeOffset availableAt)
    {
        _messages.Remove(message);
        message.AvailableAt = availableAt;
        message.Order = ++_order;
        _messages.Add(message);
    }

    private int Count(bool visible, bool? received)
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            return _messages.Count(m => (m.AvailableAt <= now) == visible && (received is not { } r || (m.ReceiveCount > 0) == r));
        }
    }

    // Opaque to clients: which queue, which message and which receipt. Not a secret, only a name.
    private string NewReceiptHandle(QueuedMessage message) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(
            $"{Name}\n{message.Id}\n{message.ReceiveCount.ToString(CultureInfo.InvariantCulture)}\n{Guid.NewGuid():N}"));

    /// <summary>The message id in a handle of this queue; ReceiptHandleIsInvalid for anything else.</summary>
    private string MessageIdOf(string receiptHandle)
    {
        try
        {
            if (Encoding.UTF8.GetString(Convert.FromBase64String(receiptHandle)).Split('\n') is [var queue, var id, _, _] && queue == Name)
            {
                return id;
            }
        }
        catch (FormatException)
        {
            // answered below
        }

        throw new SqsErrorException(404, "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", $"The input receipt handle \"{receiptHandle}\" is not a valid receipt handle.");
    }

#pragma warning disable CA5351 // MD5OfBody is SQS's wire checksum, which the SDKs verify; it protects nothing.
    internal static string Md5Hex(string body) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(body)));
#pragma warning restore CA5351

    private void SignalLocked()
    {
        var previous = _changed;
        _changed = NewSignal();
        previous.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class QueuedMessage(string id, string body, string md5, DateTimeOffset sentAt)
    {
        public static IComparer<QueuedMessage> ByAvailability { get; } = Comparer<QueuedMessage>.Create(
            (a, b) => a.AvailableAt != b.AvailableAt ? a.AvailableAt.CompareTo(b.AvailableAt) : a.Order.CompareTo(b.Order));

        public string Id { get; } = id;
        public string Body { get; } = body;
        public string Md5 { get; } = md5;
        public DateTimeOffset SentAt { get; } = sentAt;

        // The sort key: change only through Rekey (or before the message is in the set).
        public DateTimeOffset AvailableAt { get; set; }
        public long Order { get; set; }

        public int ReceiveCount { get; set; }
        public DateTimeOffset? FirstReceivedAt { get; set; }
        public string? ReceiptHandle { get; set; }

        /// <summary>The group (job) this message is held back for, while it is.</summary>
        public string? HeldFor { get; set; }
    }
}

/// <summary>A message as ReceiveMessage hands it out.</summary>
internal sealed record ReceivedMessage(
    string MessageId, string ReceiptHandle, string Body, string Md5OfBody, DateTimeOffset SentAt, int ReceiveCount, DateTimeOffset FirstReceivedAt);
