/**
 * A TCP proxy that cuts the connection carrying a chosen byte of the upload
 * stream, once, mid-request: the client and the server both see a dropped
 * connection, as on a flaky network. Its upstream can be moved (a restarted
 * server on another port).
 */
import { createServer, type Socket, connect as tcpConnect } from 'node:net';

export interface CuttingProxy {
  readonly port: number;
  /** Cuts the connection when the client has sent `bytes` bytes in all (counted from now). */
  cutAfter(bytes: number): void;
  /** Resolves once the cut happened. */
  readonly cut: Promise<void>;
  setUpstream(port: number): void;
  close(): Promise<void>;
}

export async function startCuttingProxy(upstreamPort: number): Promise<CuttingProxy> {
  let upstream = upstreamPort;
  let budget = Number.POSITIVE_INFINITY;
  let cutDone: () => void = () => {};
  const cut = new Promise<void>((resolve) => {
    cutDone = resolve;
  });
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const target = tcpConnect(upstream, '127.0.0.1');
    for (const socket of [client, target]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        target.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      if (chunk.length < budget) {
        budget -= chunk.length;
        if (!target.write(chunk)) client.pause();
        return;
      }
      // Deliver what fits, then drop both sides.
      target.write(chunk.subarray(0, budget), () => {
        client.destroy();
        target.destroy();
        cutDone();
      });
      budget = Number.POSITIVE_INFINITY;
      client.pause();
    });
    target.on('drain', () => client.resume());
    target.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');
  return {
    port: address.port,
    cutAfter(bytes) {
      budget = bytes;
    },
    cut,
    setUpstream(port) {
      upstream = port;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
