// node_peer.js: Node.js tls as an interop client or server, speaking the
// echo script of interop/internal/peer (same flags, same RESULT lines).
// Node cannot send a TLS 1.3 KeyUpdate, and it reports close_notify and a
// bare TCP FIN alike ('end'), so the close checks that matter are made on
// the sslbio side of each run.
'use strict';
const tls = require('tls');
const fs = require('fs');

function parse(argv) {
  const o = { role: 'client', host: '127.0.0.1', port: 0, name: 'localhost', certs: 'build/certs',
    'client-cert': false, alpn: '', 'expect-alpn': '', tls12: false, tls13: false, resume: false,
    'key-update': false, conns: 1, mode: 'echo', 'server-close': false, close: 'client',
    msg: 'hello from the interop client', expect: '', timeout: '10s', 'extra-rounds': 0 };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i].replace(/^--?/, '');
    let v;
    const eq = a.indexOf('=');
    if (eq >= 0) { v = a.slice(eq + 1); a = a.slice(0, eq); }
    if (!(a in o) && a !== 'require-close-notify' && a !== 'expect-version') throw new Error('unknown flag ' + a);
    if (typeof o[a] === 'boolean' || a === 'require-close-notify') o[a] = v === undefined ? true : v === 'true';
    else o[a] = v !== undefined ? v : argv[++i];
  }
  o.port = Number(o.port); o.conns = Number(o.conns); o['extra-rounds'] = Number(o['extra-rounds']);
  if (!o.expect) o.expect = o.msg;
  if (o.resume && o.role === 'server' && o.conns < 2) o.conns = 2;
  o.timeoutMs = parseFloat(o.timeout) * (String(o.timeout).endsWith('ms') ? 1 : 1000);
  return o;
}

const o = parse(process.argv.slice(2));
const file = (n) => fs.readFileSync(o.certs + '/' + n);
const fail = (msg) => { console.error(`node ${o.role}: FAIL: ${msg}`); process.exit(1); };
setTimeout(() => fail('overall timeout'), o.timeoutMs * (o.conns + 1) + 5000).unref();

function versions(opts) {
  if (o.tls12) { opts.minVersion = 'TLSv1.2'; opts.maxVersion = 'TLSv1.2'; }
  if (o.tls13) { opts.minVersion = 'TLSv1.3'; opts.maxVersion = 'TLSv1.3'; }
  if (o.alpn) opts.ALPNProtocols = o.alpn.split(',');
  return opts;
}

function check(s) {
  if (o['expect-alpn'] && s.alpnProtocol !== o['expect-alpn']) return `ALPN ${s.alpnProtocol}, want ${o['expect-alpn']}`;
  const want = o['expect-version'] || (o.tls12 ? 'TLSv1.2' : o.tls13 ? 'TLSv1.3' : '');
  if (want && s.getProtocol() !== want) return `version ${s.getProtocol()}, want ${want}`;
  return null;
}

function report(s, extra) {
  const cert = s.getPeerCertificate();
  const cn = cert && cert.subject ? cert.subject.CN : '';
  console.log(['RESULT stack=node', `role=${o.role}`, `version=${s.getProtocol()}`,
    `cipher=${s.getCipher().standardName}`, `alpn=${s.alpnProtocol || 'none'}`,
    `resumed=${s.isSessionReused()}`, `peer_cn=${JSON.stringify(cn || '')}`].concat(extra).join(' '));
}

function client() {
  let session;
  const round = (i) => {
    const opts = versions({ host: o.host, port: o.port, servername: o.name, ca: file('ca.pem'), session });
    if (o['client-cert']) { opts.cert = file('client.pem'); opts.key = file('client.key'); }
    if (o['key-update']) fail('key update: not supported by Node.js tls');
    const s = tls.connect(opts);
    s.setTimeout(o.timeoutMs, () => fail('timeout'));
    s.on('session', (sess) => { session = sess; });
    s.on('error', (e) => fail(`connection ${i + 1}: ${e.message}`));
    let got = '';
    let phase = 'echo';
    let r = 0;
    const msg = () => (r === 0 ? o.msg : `${o.msg} round ${r + 1}`);
    const expect = () => (r === 0 ? o.expect : msg());
    s.on('secureConnect', () => {
      const bad = check(s);
      if (bad) fail(bad);
      if (i === 1 && !s.isSessionReused()) fail('second connection did not resume the session');
      s.write(msg() + '\n');
    });
    s.on('data', (d) => {
      if (phase !== 'echo') fail(`unexpected data after the exchange: ${d}`);
      got += d.toString();
      if (got.length < expect().length + 1) return;
      if (got.trimEnd() !== expect()) fail(`echo ${JSON.stringify(got)}, want ${JSON.stringify(expect())}`);
      got = '';
      if (++r <= o['extra-rounds']) { s.write(msg() + '\n'); return; }
      phase = 'close';
      if (o.close === 'client') s.end(); // close_notify, then wait for the peer's
    });
    s.on('end', () => {
      if (phase !== 'close') fail('connection ended before the echo');
      if (o.close === 'server') s.end();
      report(s, [`round=${i + 1}`, 'key_update=false', 'peer_close_notify=end-event', `close=${o.close}`]);
    });
    s.on('close', () => {
      if (phase !== 'close') fail('closed before the echo');
      if (i + 1 < (o.resume ? 2 : 1)) setTimeout(() => round(i + 1), session ? 0 : 100);
      else console.log('node client: OK');
    });
  };
  round(0);
}

function server() {
  const opts = versions({ key: file('server.key'), cert: file('server.pem') });
  if (o['client-cert']) { opts.requestCert = true; opts.rejectUnauthorized = true; opts.ca = file('ca.pem'); }
  let served = 0;
  const srv = tls.createServer(opts, (s) => {
    const bad = check(s);
    if (bad) fail(bad);
    if (o['client-cert'] && !s.authorized) fail('client not authorized: ' + s.authorizationError);
    let total = 0, line = '', closed = false;
    s.setTimeout(o.timeoutMs, () => fail('timeout'));
    s.on('data', (d) => {
      total += d.length;
      if (o.mode === 'http') {
        line += d.toString();
        if (line.includes('\r\n\r\n')) {
          const body = 'sslbio interop: hello over TLS\n';
          s.end(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
        }
        return;
      }
      if (closed) fail('data after our close_notify');
      s.write(d);
      line += d.toString();
      if (o['server-close'] && line.includes('\n')) { closed = true; s.end(); }
    });
    s.on('end', () => {
      if (!closed) s.end();
      report(s, [`echoed=${total}`, 'peer_close_notify=end-event', `server_close=${closed}`]);
    });
    s.on('error', (e) => fail(e.message));
    s.on('close', () => { if (++served >= o.conns) { srv.close(); console.log('node server: OK'); } });
  });
  srv.on('tlsClientError', (e) => fail('handshake: ' + e.message));
  srv.listen(o.port, o.host, () => console.log(`LISTENING ${srv.address().port}`));
}

if (o.role === 'server') server(); else client();
