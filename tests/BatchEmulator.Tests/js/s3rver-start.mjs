// Starts s3rver on 127.0.0.1 (a port chosen by the system) with the given buckets, prints one
// line {"port": N} on stdout, and runs until its stdin closes or it gets SIGTERM.
//
//   node s3rver-start.mjs <directory> <bucket>...
//
// Run with NODE_OPTIONS=--openssl-legacy-provider (s3rver encrypts continuation tokens with DES).

import S3rver from 's3rver';

const [directory, ...buckets] = process.argv.slice(2);
if (!directory) {
  console.error('usage: node s3rver-start.mjs <directory> <bucket>...');
  process.exit(2);
}

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: buckets.map((name) => ({ name })),
});

const { port } = await server.run();
console.log(JSON.stringify({ port }));

const stop = async () => {
  await server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
