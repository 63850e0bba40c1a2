// Drives the emulator's SQS endpoint with the official AWS JavaScript client (@aws-sdk/client-sqs) and prints what
// it saw as one JSON line on stdout. The C# SqsConformanceTests assert on it; this script only fails (exit 1, error
// JSON) when the client itself cannot get through a step.
//
//   node sqs-check.mjs http://127.0.0.1:PORT <queue name> <events expected>
//
// The queue must already hold <events expected> job-state events and nothing else; ListQueues is throttled (a fault).

import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  QueueDoesNotExist,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  RequestThrottled,
  SendMessageCommand,
  SQSClient,
  SQSServiceException,
} from '@aws-sdk/client-sqs';

const [endpointArg, queueName, expectedArg] = process.argv.slice(2);
if (!endpointArg || !queueName || !expectedArg) {
  console.error('usage: node sqs-check.mjs <emulator url> <queue name> <events expected>');
  process.exit(2);
}

const endpoint = endpointArg.replace(/\/+$/, '');
const expected = Number(expectedArg);
const settings = { region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 };
const client = new SQSClient({ ...settings, endpoint });
// No endpoint: the client sends each request to the host of its QueueUrl (useQueueUrlAsEndpoint, the default).
const byQueueUrl = new SQSClient(settings);
const out = {};

const capture = async (step) => {
  try {
    return { thrown: false, result: await step() };
  } catch (e) {
    return {
      thrown: true,
      name: e.name,
      isQueueDoesNotExist: e instanceof QueueDoesNotExist,
      isReceiptHandleIsInvalid: e instanceof ReceiptHandleIsInvalid,
      isRequestThrottled: e instanceof RequestThrottled,
      isServiceException: e instanceof SQSServiceException,
      code: e.Code,
      httpStatusCode: e.$metadata?.httpStatusCode,
      fault: e.$fault,
      message: e.message,
    };
  }
};

const elapsed = async (step) => {
  const started = Date.now();
  const result = await step();
  return { result, ms: Date.now() - started };
};

try {
  const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: queueName }));
  out.queueUrl = QueueUrl;
  out.before = (await client.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }))).Attributes;

  // The job's events, through the client that goes by the queue URL; the MD5 of every body is checked by the SDK.
  out.events = [];
  const received = [];
  for (let round = 0; received.length < expected && round < 20; round++) {
    const page = await byQueueUrl.send(new ReceiveMessageCommand({
      QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60, MessageSystemAttributeNames: ['All'],
    }));
    for (const message of page.Messages ?? []) {
      received.push(message);
      out.events.push({ body: JSON.parse(message.Body), attributes: message.Attributes, messageId: message.MessageId });
    }
  }
  out.whileInFlight = (await client.send(new GetQueueAttributesCommand({
    QueueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
  }))).Attributes;

  // DeleteMessage the first, DeleteMessageBatch the others with one entry that cannot succeed.
  out.deleteOne = (await client.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: received[0].ReceiptHandle }))).$metadata.httpStatusCode;
  const batch = await client.send(new DeleteMessageBatchCommand({
    QueueUrl,
    Entries: [
      ...received.slice(1).map((m, i) => ({ Id: `event-${i + 1}`, ReceiptHandle: m.ReceiptHandle })),
      { Id: 'bogus', ReceiptHandle: 'not-a-receipt-handle' },
    ],
  }));
  out.deleteBatch = { successful: (batch.Successful ?? []).map((s) => s.Id), failed: batch.Failed ?? [] };
  out.afterDelete = (await client.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }))).Attributes;

  // A long poll returns as soon as a message arrives, well before its 20 s.
  const poll = elapsed(() => client.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 20, VisibilityTimeout: 30 })));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const sent = await client.send(new SendMessageCommand({ QueueUrl, MessageBody: '{"probe":"visibility"}' }));
  const polled = await poll;
  out.longPoll = { ms: polled.ms, messages: (polled.result.Messages ?? []).map((m) => m.MessageId), sentId: sent.MessageId };
  const probe = polled.result.Messages?.[0];

  // Visibility: in flight for 30 s, made visible again at once with ChangeMessageVisibility 0, received a second time.
  out.hiddenWhileInFlight = (await client.send(new ReceiveMessageCommand({ QueueUrl }))).Messages?.length ?? 0;
  out.changeVisibility = (await client.send(new ChangeMessageVisibilityCommand({
    QueueUrl, ReceiptHandle: probe.ReceiptHandle, VisibilityTimeout: 0,
  }))).$metadata.httpStatusCode;
  const again = (await client.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }))).Messages ?? [];
  out.receivedAgain = again.map((m) => ({ messageId: m.MessageId, receiveCount: m.Attributes?.ApproximateReceiveCount }));
  out.staleHandle = await capture(() => client.send(new ChangeMessageVisibilityCommand({
    QueueUrl, ReceiptHandle: probe.ReceiptHandle, VisibilityTimeout: 10,
  })));
  const visibilityBatch = await client.send(new ChangeMessageVisibilityBatchCommand({
    QueueUrl, Entries: [{ Id: 'probe', ReceiptHandle: again[0].ReceiptHandle, VisibilityTimeout: 45 }],
  }));
  out.changeVisibilityBatch = (visibilityBatch.Successful ?? []).map((s) => s.Id);
  await client.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: again[0].ReceiptHandle }));
  out.end = (await client.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }))).Attributes;

  // Errors as the SDK classifies them.
  const missingUrl = QueueUrl.replace(/[^/]+$/, 'no-such-queue');
  out.missingQueue = await capture(() => client.send(new ReceiveMessageCommand({ QueueUrl: missingUrl })));
  out.missingQueueUrl = await capture(() => client.send(new GetQueueUrlCommand({ QueueName: 'no-such-queue' })));
  out.invalidHandle = await capture(() => client.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: 'garbage' })));
  out.tooMany = await capture(() => client.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 11 })));
  out.throttled = await capture(() => client.send(new ListQueuesCommand({})));

  console.log(JSON.stringify(out));
} catch (e) {
  console.log(JSON.stringify({ error: `${e.name}: ${e.message}`, stack: e.stack, partial: out }));
  process.exit(1);
}
