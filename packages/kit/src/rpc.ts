/**
 * RPC building blocks (ConnectRPC). Servers: `serverInterceptors` +
 * `startRpcServer` (gRPC over h2c) + `registerHealth`. Clients: a transport
 * chosen by configuration — `inProcessTransport` in the all-in-one process,
 * `networkTransport` (gRPC, round-robin, retries) when distributed — used
 * with connect's `createClient`.
 */
export { createClient } from '@connectrpc/connect';
export { fromConnectError, grpcCode, toConnectError } from './rpc/codes.ts';
export { type ReadyCheck, registerHealth } from './rpc/health.ts';
export { type Routes, type RpcServer, serverInterceptors, startRpcServer } from './rpc/server.ts';
export {
  type ClientOptions,
  inProcessTransport,
  networkTransport,
  ResilientTransport,
} from './rpc/transport.ts';
