/**
 * Real https listeners on loopback for webhook tests: a certificate made for the test
 * (localhost, hooks.test, 127.0.0.1), every request recorded, and every TCP connection
 * counted (so a test can show that nothing reached a listener at all).
 */
import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';

export interface Received {
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpsReceiver {
  port: number;
  /** The certificate, for the deliverer's `ca`. */
  ca: string;
  received: Received[];
  /** TCP connections accepted, whether or not a request followed. */
  connections(): number;
  close(): Promise<void>;
}

let pems: Promise<{ cert: string; key: string }> | undefined;

function certificate(): Promise<{ cert: string; key: string }> {
  pems ??= generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    extensions: [
      { name: 'basicConstraints', cA: false },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 2, value: 'hooks.test' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  }).then((p) => ({ cert: p.cert, key: p.private }));
  return pems;
}

/** Starts a receiver on 127.0.0.1 that answers each request with `answer(index)`. */
export async function startHttpsReceiver(
  answer: (index: number) => { status: number; headers?: Record<string, string> } = () => ({
    status: 204,
  }),
): Promise<HttpsReceiver> {
  const { cert, key } = await certificate();
  const received: Received[] = [];
  let connections = 0;
  const server: Server = createServer({ cert, key }, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ url: req.url ?? '', headers: req.headers, body });
      const { status, headers } = answer(received.length - 1);
      res.writeHead(status, headers).end();
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    ca: cert,
    received,
    connections: () => connections,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
