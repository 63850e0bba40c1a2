// Drives the Batch emulator with the official AWS JavaScript client and prints what it saw as one
// JSON line on stdout. The C# ConformanceTests assert on it; this script only fails (exit 1, error
// JSON) when the client itself cannot get through a step.
//
//   node client-check.mjs http://127.0.0.1:PORT
//
// The emulator must know queue "conf-queue" and job definition "conf-def" (revisions 1 and 2).

import {
  BatchClient,
  ClientException,
  DescribeJobDefinitionsCommand,
  DescribeJobQueuesCommand,
  DescribeJobsCommand,
  ListJobsCommand,
  SubmitJobCommand,
  TerminateJobCommand,
  paginateListJobs,
} from '@aws-sdk/client-batch';

const endpoint = (process.argv[2] ?? '').replace(/\/+$/, '');
if (!endpoint) {
  console.error('usage: node client-check.mjs <emulator url>');
  process.exit(2);
}

const client = new BatchClient({
  region: 'us-east-1',
  endpoint,
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  maxAttempts: 1,
});

const deadline = Date.now() + 30_000;
const out = {};

/** Drops the SDK's $metadata so that the output is only what came over the wire. */
const wire = (response) => {
  const { $metadata, ...rest } = response;
  return { ...rest, httpStatusCode: $metadata.httpStatusCode };
};

const describe = async (ids) => (await client.send(new DescribeJobsCommand({ jobs: ids }))).jobs ?? [];

/** Describes the jobs until done(jobs) holds; records every status seen on the way. */
const waitFor = async (ids, done, seen = {}) => {
  for (;;) {
    const jobs = await describe(ids);
    for (const job of jobs) {
      (seen[job.jobName] ??= []).includes(job.status) || seen[job.jobName].push(job.status);
      if (!['RUNNING', 'SUCCEEDED', 'FAILED'].includes(job.status) && job.startedAt !== undefined) {
        out.startedAtBeforeRunning = (out.startedAtBeforeRunning ?? 0) + 1;
      }
    }
    if (done(jobs)) return jobs;
    if (Date.now() > deadline) throw new Error(`timed out waiting; last: ${JSON.stringify(jobs.map((j) => [j.jobName, j.status]))}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

const capture = async (step) => {
  try {
    const result = await step();
    return { thrown: false, result };
  } catch (e) {
    return {
      thrown: true,
      name: e.name,
      isClientException: e instanceof ClientException,
      httpStatusCode: e.$metadata?.httpStatusCode,
      fault: e.$fault,
      message: e.message,
    };
  }
};

try {
  const first = await client.send(new SubmitJobCommand({
    jobName: 'conf-first',
    jobQueue: 'conf-queue',
    jobDefinition: 'conf-def:1',
    parameters: { sample: 's1', threads: '4' },
    containerOverrides: {
      command: ['count', 'Ref::sample'],
      environment: [{ name: 'FOO', value: 'bar' }],
      resourceRequirements: [{ type: 'VCPU', value: '2' }, { type: 'MEMORY', value: '4096' }],
    },
    retryStrategy: { attempts: 2 },
    timeout: { attemptDurationSeconds: 3600 },
    tags: { project: 'conformance' },
    propagateTags: true,
  }));
  const second = await client.send(new SubmitJobCommand({
    jobName: 'conf-second',
    jobQueue: 'arn:aws:batch:us-east-1:123456789012:job-queue/conf-queue',
    jobDefinition: 'conf-def',
    dependsOn: [{ jobId: first.jobId, type: 'SEQUENTIAL' }],
    parameters: { sample: 's1' },
    containerOverrides: { resourceRequirements: [{ type: 'MEMORY', value: '8192' }] },
    tags: { project: 'conformance', step: '2' },
  }));
  out.submitted = { first: wire(first), second: wire(second) };

  out.seen = {};
  const finished = await waitFor(
    [first.jobId, second.jobId],
    (jobs) => jobs.length === 2 && jobs.every((j) => j.status === 'SUCCEEDED'),
    out.seen,
  );
  out.described = Object.fromEntries(finished.map((j) => [j.jobName, j]));

  const pages = async (input) => {
    const result = { pages: 0, names: [] };
    for await (const page of paginateListJobs({ client, pageSize: 1 }, input)) {
      result.pages++;
      result.names.push(...page.jobSummaryList.map((s) => s.jobName));
      result.last = page.jobSummaryList.at(-1) ?? result.last;
    }
    return result;
  };
  out.listByQueue = await pages({ jobQueue: 'conf-queue', jobStatus: 'SUCCEEDED' });
  out.listByNamePrefix = await pages({ jobQueue: 'conf-queue', filters: [{ name: 'JOB_NAME', values: ['conf-*'] }] });
  out.listByExactName = (await client.send(new ListJobsCommand({
    jobQueue: 'conf-queue', filters: [{ name: 'JOB_NAME', values: ['conf-first'] }],
  }))).jobSummaryList.map((s) => s.jobName);
  out.listDefaultStatus = (await client.send(new ListJobsCommand({ jobQueue: 'conf-queue' }))).jobSummaryList.length;

  // The emulator keeps conf-third RUNNING for a minute (a fault rule), so it is terminated while running.
  const third = await client.send(new SubmitJobCommand({ jobName: 'conf-third', jobQueue: 'conf-queue', jobDefinition: 'conf-def:2' }));
  await waitFor([third.jobId], (jobs) => jobs[0]?.status === 'RUNNING');
  out.terminate = wire(await client.send(new TerminateJobCommand({ jobId: third.jobId, reason: 'stopped by client-check' })));
  out.terminated = (await waitFor([third.jobId], (jobs) => jobs[0]?.status === 'FAILED'))[0];

  out.queues = (await client.send(new DescribeJobQueuesCommand({}))).jobQueues;
  out.definitions = (await client.send(new DescribeJobDefinitionsCommand({ jobDefinitionName: 'conf-def' }))).jobDefinitions;

  out.unknownQueue = await capture(() => client.send(new SubmitJobCommand({
    jobName: 'conf-bad', jobQueue: 'no-such-queue', jobDefinition: 'conf-def:1',
  })));

  const armed = await fetch(`${endpoint}/_emulator/faults/throttle-next`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ count: 1 }),
  });
  if (!armed.ok) throw new Error(`could not arm the throttle: ${armed.status} ${await armed.text()}`);
  out.throttled = await capture(() => client.send(new DescribeJobQueuesCommand({})));
  out.afterThrottle = await capture(async () => (await client.send(new DescribeJobQueuesCommand({}))).jobQueues.length);

  console.log(JSON.stringify(out));
} catch (e) {
  console.log(JSON.stringify({ error: `${e.name}: ${e.message}`, stack: e.stack, partial: out }));
  process.exit(1);
}
