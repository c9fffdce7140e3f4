/**
 * WebSocket messages between Wavecast and its clients. Every frame is JSON
 * `{ v, type, data }`; `v` is the protocol version. Each message type has a
 * schema here, so the server and clients agree on one definition.
 */
import Type, { type Static, type TSchema } from 'typebox';

export const WS_PROTOCOL_VERSION = 1;

/** Messages a client sends. */
export const clientMessageSchemas = {
  ping: Type.Object(
    { nonce: Type.Optional(Type.String({ maxLength: 64 })) },
    { additionalProperties: false },
  ),
} as const satisfies Record<string, TSchema>;

/** Messages the server sends. */
export const serverMessageSchemas = {
  pong: Type.Object({ nonce: Type.Optional(Type.String()) }),
  error: Type.Object({ code: Type.String(), message: Type.String() }),
} as const satisfies Record<string, TSchema>;

export type ClientMessageType = keyof typeof clientMessageSchemas;
export type ServerMessageType = keyof typeof serverMessageSchemas;
export type ClientMessage<T extends ClientMessageType = ClientMessageType> = {
  [K in T]: { v: number; type: K; data: Static<(typeof clientMessageSchemas)[K]> };
}[T];
export type ServerMessage<T extends ServerMessageType = ServerMessageType> = {
  [K in T]: { v: number; type: K; data: Static<(typeof serverMessageSchemas)[K]> };
}[T];
