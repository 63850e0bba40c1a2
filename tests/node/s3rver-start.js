'use strict';
// Starts s3rver on 127.0.0.1 with a port chosen by the OS, prints {"port": N} on one line, and stops
// when its standard input closes, so it never outlives the test process that started it.
// Usage: node s3rver-start.js <directory> [bucket ...]
const S3rver = require('s3rver');

const [directory, ...buckets] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  directory,
  silent: true,
  configureBuckets: buckets.map(name => ({ name })),
});

server.run().then(({ port }) => {
  process.stdout.write(JSON.stringify({ port }) + '\n');
}, error => {
  process.stderr.write(String(error && error.stack || error) + '\n');
  process.exit(1);
});

process.stdin.resume();
process.stdin.on('end', () => server.close().finally(() => process.exit(0)));
process.stdin.on('close', () => process.exit(0));
