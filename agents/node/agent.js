// SPDX-License-Identifier: LGPL-2.1-or-later
// A real Node.js agent: its secret from /run/secrets, scratch data in
// /workspace, HTTP and HTTPS through the proxy that $HTTP_PROXY/$HTTPS_PROXY
// name (plain HTTP in absolute form, HTTPS through CONNECT), like an agent
// that calls a model API. Node's standard library only.
//
//   node agent.js [--secret NAME] [--cafile PATH] URL...
//
// Every step prints "agent: STEP: RESULT".
'use strict';
const fs = require('fs');
const http = require('http');
const tls = require('tls');

const say = (step, result) => console.log(`agent: ${step}: ${result}`);

function parseArgs(argv) {
  const a = { urls: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--secret') a.secret = argv[++i];
    else if (argv[i] === '--cafile') a.cafile = argv[++i];
    else a.urls.push(argv[i]);
  }
  return a;
}

function proxyFor(url) {
  const v = url.protocol === 'https:' ? (process.env.HTTPS_PROXY || process.env.https_proxy)
                                      : (process.env.HTTP_PROXY || process.env.http_proxy);
  return v ? new URL(v) : null;
}

function viaHttp(url, proxy) {
  return new Promise((resolve) => {
    const req = http.request({ host: proxy.hostname, port: proxy.port, method: 'GET',
                               path: url.href, headers: { Host: url.host } }, (res) => {
      let n = 0, body = '';
      res.on('data', (d) => { n += d.length; if (body.length < 300) body += d; });
      res.on('end', () => resolve(`status ${res.statusCode} ${res.statusCode === 200 ? n + ' bytes' : body.trim()}`));
    });
    req.on('error', (e) => resolve(`failed: ${e.message}`));
    req.end();
  });
}

function viaConnect(url, proxy, ca) {
  return new Promise((resolve) => {
    const port = url.port || 443;
    const req = http.request({ host: proxy.hostname, port: proxy.port, method: 'CONNECT',
                               path: `${url.hostname}:${port}` });
    req.on('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        let body = '';
        socket.on('data', (d) => { body += d; });
        socket.on('end', () => resolve(`status ${res.statusCode} ${body.trim()}`));
        setTimeout(() => { socket.destroy(); resolve(`status ${res.statusCode} ${body.trim()}`); }, 2000);
        return;
      }
      const t = tls.connect({ socket, servername: url.hostname, ca }, () => {
        t.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`);
      });
      let data = '';
      t.on('data', (d) => { data += d; });
      t.on('end', () => resolve(`status ${(data.match(/^HTTP\/1\.[01] (\d+)/) || [])[1]} ${data.length} bytes`));
      t.on('error', (e) => resolve(`failed: ${e.message}`));
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(`status ${res.statusCode} ${body.trim()}`));
    });
    req.on('error', (e) => resolve(`failed: ${e.message}`));
    req.end();
  });
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  say('start', `node ${process.version} as uid ${process.getuid()}`);
  if (a.secret) {
    try { say('secret', `${a.secret} read, ${fs.readFileSync(`/run/secrets/${a.secret}`).length} bytes`); }
    catch (e) { say('secret', `${a.secret} unreadable: ${e.code}`); }
  }
  try {
    const text = `written by pid ${process.pid}\n`;
    fs.writeFileSync('/workspace/agent-notes.txt', text);
    say('workspace', fs.readFileSync('/workspace/agent-notes.txt', 'utf8') === text ? 'write and read back ok' : 'read back differs');
  } catch (e) { say('workspace', `failed: ${e.code}`); }
  const ca = a.cafile ? fs.readFileSync(a.cafile) : undefined;
  for (const u of a.urls) {
    const url = new URL(u), proxy = proxyFor(url);
    if (!proxy) { say('fetch', `${u} failed: no proxy configured`); continue; }
    say('fetch', `${u} ${url.protocol === 'https:' ? await viaConnect(url, proxy, ca) : await viaHttp(url, proxy)}`);
  }
  say('done', 'all steps ran');
  process.on('SIGTERM', () => process.exit(0));
  setInterval(() => {}, 1 << 30);
}

main();
