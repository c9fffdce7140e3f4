/**
 * RTMP message types, the protocol control messages we send, and the AMF0
 * command messages of the publish flow (connect, createStream, publish, onStatus).
 */
import { type Amf0Object, type Amf0Value, decodeAmf0, encodeAmf0 } from './amf0.ts';
import { type OutgoingMessage, protocolError, type RtmpMessage } from './chunk-stream.ts';

export const MessageType = {
  SetChunkSize: 1,
  Abort: 2,
  Acknowledgement: 3,
  UserControl: 4,
  WindowAckSize: 5,
  SetPeerBandwidth: 6,
  Audio: 8,
  Video: 9,
  DataAmf3: 15,
  SharedObjectAmf3: 16,
  CommandAmf3: 17,
  DataAmf0: 18,
  SharedObjectAmf0: 19,
  CommandAmf0: 20,
  Aggregate: 22,
} as const;

/** Chunk streams we send on: protocol control, NetConnection commands, NetStream status. */
const CSID_CONTROL = 2;
const CSID_COMMAND = 3;
const CSID_STREAM = 5;

const USER_CONTROL_STREAM_BEGIN = 0;
/** Set Peer Bandwidth limit type: the peer may apply it as hard or soft. */
const PEER_BANDWIDTH_DYNAMIC = 2;

function control(typeId: number, payload: Buffer): OutgoingMessage {
  return { csid: CSID_CONTROL, typeId, streamId: 0, timestamp: 0, payload };
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

export function setChunkSize(size: number): OutgoingMessage {
  return control(MessageType.SetChunkSize, u32(size & 0x7fffffff));
}

export function windowAckSize(size: number): OutgoingMessage {
  return control(MessageType.WindowAckSize, u32(size));
}

export function setPeerBandwidth(size: number): OutgoingMessage {
  return control(MessageType.SetPeerBandwidth, Buffer.concat([u32(size), Buffer.of(PEER_BANDWIDTH_DYNAMIC)]));
}

/** Acknowledgement: total bytes received so far, modulo 2^32. */
export function acknowledgement(bytesReceived: number): OutgoingMessage {
  return control(MessageType.Acknowledgement, u32(bytesReceived % 2 ** 32));
}

export function streamBegin(streamId: number): OutgoingMessage {
  const payload = Buffer.alloc(6);
  payload.writeUInt16BE(USER_CONTROL_STREAM_BEGIN);
  payload.writeUInt32BE(streamId, 2);
  return control(MessageType.UserControl, payload);
}

export function command(streamId: number, ...values: Amf0Value[]): OutgoingMessage {
  return {
    csid: streamId === 0 ? CSID_COMMAND : CSID_STREAM,
    typeId: MessageType.CommandAmf0,
    streamId,
    timestamp: 0,
    payload: encodeAmf0(...values),
  };
}

export function connectResult(transactionId: number, objectEncoding: number): OutgoingMessage {
  return command(
    0,
    '_result',
    transactionId,
    { fmsVer: 'FMS/3,0,1,123', capabilities: 31 },
    {
      level: 'status',
      code: 'NetConnection.Connect.Success',
      description: 'Connection succeeded.',
      objectEncoding,
    },
  );
}

export function connectRejected(transactionId: number, description: string): OutgoingMessage {
  return command(0, '_error', transactionId, null, {
    level: 'error',
    code: 'NetConnection.Connect.Rejected',
    description,
  });
}

export function onStatus(
  streamId: number,
  level: 'status' | 'error',
  code: string,
  description: string,
): OutgoingMessage {
  return command(streamId, 'onStatus', 0, null, { level, code, description });
}

export interface Command {
  name: string;
  transactionId: number;
  /** The command object (connect's properties); null for most commands. */
  object: Amf0Object | null;
  args: Amf0Value[];
}

/** Decodes an AMF0 (type 20) or AMF3-wrapped (type 17) command message. */
export function parseCommand(msg: RtmpMessage): Command {
  // An AMF3 command starts with a format byte; 0 means the values that follow are AMF0.
  const body = msg.typeId === MessageType.CommandAmf3 ? skipAmf3Switch(msg.payload) : msg.payload;
  const [name, transactionId, object, ...args] = decodeAmf0(body);
  if (typeof name !== 'string') throw protocolError('command without a name');
  return {
    name,
    transactionId: typeof transactionId === 'number' ? transactionId : 0,
    object: isObject(object) ? object : null,
    args,
  };
}

export function skipAmf3Switch(payload: Buffer): Buffer {
  if (payload.length > 0 && payload[0] === 0) return payload.subarray(1);
  throw protocolError('AMF3-encoded messages are not supported');
}

export function isObject(value: Amf0Value): value is Amf0Object {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}
