#!/usr/bin/env node
// example.js - stores a memory, retrieves it by relevance, then syncs a
// repository with a progress line; Ctrl-C cancels the sync, prints the
// state mnemod recorded and exits 130.
//
//   node example/example.js [REPOSITORY_PATH]
//
// MNEMO_SERVER (default 127.0.0.1:50051) picks the server, MNEMO_TOKEN a
// bearer token, MNEMO_CA a CA file to turn TLS on. REPOSITORY_PATH is on
// the server's disk, inside one of its --allow-root directories (default:
// the current directory).
'use strict';

const fs = require('fs');
const path = require('path');
const { connect, status } = require('..');

async function main() {
  const server = process.env.MNEMO_SERVER || '127.0.0.1:50051';
  const tls = process.env.MNEMO_CA ? { ca: fs.readFileSync(process.env.MNEMO_CA) } : false;
  const mnemo = connect(server, { token: process.env.MNEMO_TOKEN, tls });
  try {
    const { memory, created } = await mnemo.storeMemory({
      content: 'the staging database moved to db2.internal on 3 May',
      tags: ['ops'], metadata: { source: 'example.js' },
    });
    console.log(`stored ${memory.id.slice(0, 12)} (${created ? 'new' : 'already there'})`);

    const { results } = await mnemo.retrieveMemory({ query: 'staging database', limit: 3 });
    for (const r of results) console.log(`${r.score.toFixed(2)}  ${r.memory.content}`);

    return await sync(mnemo, path.resolve(process.argv[2] || '.'));
  } finally {
    mnemo.close();
  }
}

async function sync(mnemo, repositoryPath) {
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  let name = '';
  try {
    for await (const ev of mnemo.sync({ repositoryPath }, { signal: abort.signal })) {
      const s = ev.status;
      name = s.repositoryName;
      const p = s.progress;
      process.stdout.write(`\r${p.percentage.toFixed(0).padStart(3)}%  ` +
        `${p.processedFiles}/${p.totalFiles} files  ${s.state}  ${ev.currentPath}`.slice(0, 100) +
        '\x1b[K');
    }
    process.stdout.write('\n');
    return 0;
  } catch (err) {
    if (err.code !== status.CANCELLED || !abort.signal.aborted) throw err;
    console.log(`\ncancelled: the server stops the sync at its next batch boundary`);
    if (name) console.log(`the server reads ${await settled(mnemo, name)}`);
    return 130;
  }
}

// The sync's state once it left RUNNING, or RUNNING after 3 s.
async function settled(mnemo, repositoryName) {
  for (let i = 0; ; i++) {
    const st = await mnemo.getSyncStatus({ repositoryName });
    if (st.state !== 'SYNC_STATE_RUNNING' || i === 30) return st.state;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

main().then((code) => { process.exitCode = code; }, (err) => {
  console.error(`example: ${err.code !== undefined ? `${status[err.code]}: ` : ''}${err.details || err.message}`);
  process.exitCode = 1;
});
