// Reads a CloudWatch Logs stream of the emulator with the official AWS JavaScript client
// (@aws-sdk/client-cloudwatch-logs) and prints what it saw as one JSON line on stdout. The C#
// ConformanceTests assert on it; this script only fails (exit 1) when the client cannot get through.
//
//   node logs-check.mjs http://127.0.0.1:PORT <log stream> <page size>

import { CloudWatchLogsClient, GetLogEventsCommand, ResourceNotFoundException } from '@aws-sdk/client-cloudwatch-logs';

const [endpointArg, stream, pageSize] = process.argv.slice(2);
if (!endpointArg || !stream || !pageSize) {
  console.error('usage: node logs-check.mjs <emulator url> <log stream> <page size>');
  process.exit(2);
}

const client = new CloudWatchLogsClient({
  region: 'us-east-1',
  endpoint: endpointArg.replace(/\/+$/, ''),
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  maxAttempts: 1,
});

const capture = async (step) => {
  try {
    return { thrown: false, result: await step() };
  } catch (e) {
    return { thrown: true, name: e.name, isNotFound: e instanceof ResourceNotFoundException, httpStatusCode: e.$metadata?.httpStatusCode, message: e.message };
  }
};

try {
  const out = { messages: [], timestamps: [], pages: 0 };
  let token;
  for (;;) {
    const page = await client.send(new GetLogEventsCommand({
      logGroupName: '/aws/batch/job', logStreamName: stream, startFromHead: true, nextToken: token, limit: Number(pageSize),
    }));
    out.pages++;
    for (const event of page.events ?? []) {
      out.messages.push(event.message);
      out.timestamps.push(event.timestamp);
    }
    if (page.nextForwardToken === token || out.pages > 1000) break;
    token = page.nextForwardToken;
  }
  const tail = await client.send(new GetLogEventsCommand({ logGroupName: '/aws/batch/job', logStreamName: stream, limit: 1 }));
  out.newestWithoutHead = (tail.events ?? []).map((e) => e.message);
  out.missingStream = await capture(() => client.send(new GetLogEventsCommand({ logGroupName: '/aws/batch/job', logStreamName: 'no/such/stream' })));
  out.missingGroup = await capture(() => client.send(new GetLogEventsCommand({ logGroupName: '/no/such/group', logStreamName: stream })));
  console.log(JSON.stringify(out));
} catch (e) {
  console.log(JSON.stringify({ error: e.name, message: e.message }));
  process.exit(1);
}
