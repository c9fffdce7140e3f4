/**
 * The NetConnection/NetStream side of one connection: connect → createStream →
 * publish → authorize → Publish.Start, then audio, video and data messages into
 * the session's FLV stream. Nothing is acknowledged, and no media is taken,
 * before `authorize` resolved.
 */
import { AppError } from '@wavecast/kit/errors';
import type { Logger } from '@wavecast/kit/log';
import { type OutgoingMessage, protocolError, type RtmpMessage } from './chunk-stream.ts';
import { type FlvTag, FlvTagType, scriptTagBody, splitAggregate } from './flv.ts';
import {
  type Command,
  command,
  connectRejected,
  connectResult,
  MessageType,
  onStatus,
  parseCommand,
  skipAmf3Switch,
  streamBegin,
} from './messages.ts';
import { appName, isValidStreamName } from './publish-request.ts';
import { RtmpPublishSession } from './session.ts';
import type { EndReason, PublishRequest, PublishSession } from './types.ts';

/** Why a connection closes: a session's end reason, or a refusal (no session was ever made). */
export type CloseReason = EndReason | 'refused';
export type CloseMode = 'destroy' | 'linger';

/** What the flow needs from the connection under it. */
export interface FlowTransport {
  readonly log: Logger;
  readonly remoteAddress: string;
  send(msg: OutgoingMessage): void;
  /** Sends Window Ack Size, Set Peer Bandwidth and Set Chunk Size, as a server does after connect. */
  sendConnectControls(): void;
  close(reason: CloseReason, detail?: string, how?: CloseMode): void;
  isClosing(): boolean;
  /** Stops reading the socket until `resume` (backpressure from the FLV consumer). */
  pause(): void;
  resume(): void;
  bytesReceived(): number;
}

export interface FlowHooks {
  authorize(req: PublishRequest): Promise<void>;
  onPublish(session: PublishSession): void;
  /** Claims `app/streamName` for this flow; false when another connection publishes it. */
  claim(key: string): boolean;
  release(key: string): void;
}

type Phase = 'connect' | 'ready' | 'authorizing' | 'publishing';

const MAX_TC_URL_LENGTH = 2048;
const MAX_STREAMS = 8;

export class PublishFlow {
  readonly #id: string;
  readonly #t: FlowTransport;
  readonly #hooks: FlowHooks;
  #phase: Phase = 'connect';
  #app = '';
  #tcUrl = '';
  #nextStreamId = 1;
  #publishStreamId = -1;
  #claimed: string | undefined;
  #session: RtmpPublishSession | undefined;
  #dropped = 0;

  constructor(id: string, transport: FlowTransport, hooks: FlowHooks) {
    this.#id = id;
    this.#t = transport;
    this.#hooks = hooks;
  }

  get publishing(): boolean {
    return this.#session !== undefined;
  }

  /** One message from the chunk stream (protocol control messages excepted). */
  onMessage(msg: RtmpMessage): void {
    switch (msg.typeId) {
      case MessageType.CommandAmf0:
      case MessageType.CommandAmf3:
        this.#onCommand(parseCommand(msg), msg);
        break;
      case MessageType.Audio:
      case MessageType.Video:
      case MessageType.DataAmf0:
      case MessageType.DataAmf3:
      case MessageType.Aggregate:
        if (this.#accepts(msg)) this.#onMedia(msg);
        break;
      default:
      // Acknowledgement, User Control, Set Peer Bandwidth, shared objects: nothing a publish-only server needs.
    }
  }

  /** The connection is closing: release the stream name and end the session. */
  closed(reason: CloseReason, error: string | undefined): void {
    if (this.#claimed !== undefined) this.#hooks.release(this.#claimed);
    this.#claimed = undefined;
    this.#session?.end(reason === 'refused' ? 'protocol-error' : reason, error);
  }

  /** Media is taken only once publishing was accepted, and only on the published stream. */
  #accepts(msg: RtmpMessage): boolean {
    if (this.#phase === 'publishing' && msg.streamId === this.#publishStreamId) return true;
    if (this.#dropped++ === 0)
      this.#t.log.debug({ phase: this.#phase }, 'dropping media sent before publish start');
    return false;
  }

  #onMedia(msg: RtmpMessage): void {
    if (msg.typeId === MessageType.Aggregate) {
      for (const tag of splitAggregate(msg.payload, msg.timestamp)) this.#deliver(tag);
    } else if (msg.typeId === MessageType.DataAmf0 || msg.typeId === MessageType.DataAmf3) {
      const amf0 = msg.typeId === MessageType.DataAmf3 ? skipAmf3Switch(msg.payload) : msg.payload;
      const body = scriptTagBody(amf0);
      if (body) this.#deliver({ type: FlvTagType.Script, timestamp: msg.timestamp, data: body });
    } else {
      this.#deliver({ type: msg.typeId, timestamp: msg.timestamp, data: msg.payload, frame: msg.frame });
    }
  }

  #deliver(tag: FlvTag): void {
    if (tag.data.length > 0 && !this.#session!.write(tag)) this.#t.pause();
  }

  #onCommand(cmd: Command, msg: RtmpMessage): void {
    if (cmd.name !== 'connect' && this.#phase === 'connect')
      throw protocolError(`${cmd.name} before connect`);
    switch (cmd.name) {
      case 'connect':
        this.#connect(cmd);
        break;
      case 'releaseStream':
      case 'FCPublish':
        this.#t.send(command(0, '_result', cmd.transactionId, null, undefined));
        break;
      case 'createStream':
        if (this.#nextStreamId > MAX_STREAMS) throw protocolError('too many createStream calls');
        this.#t.send(command(0, '_result', cmd.transactionId, null, this.#nextStreamId++));
        break;
      case 'publish':
        this.#publish(cmd, msg.streamId);
        break;
      case 'FCUnpublish':
        this.#unpublish();
        break;
      case 'deleteStream':
      case 'closeStream':
        if ((cmd.name === 'deleteStream' ? cmd.args[0] : msg.streamId) === this.#publishStreamId) {
          this.#unpublish();
        }
        break;
      case 'play':
      case 'play2':
        this.#t.send(
          onStatus(msg.streamId, 'error', 'NetStream.Play.Failed', 'This server only accepts publishing.'),
        );
        this.#t.close(this.publishing ? 'protocol-error' : 'refused', 'play requested', 'linger');
        break;
      default:
        this.#t.log.debug({ command: cmd.name }, 'ignoring command');
    }
  }

  #connect(cmd: Command): void {
    if (this.#phase !== 'connect') throw protocolError('connect sent twice');
    const props = cmd.object ?? {};
    const app = appName(props.app, props.tcUrl);
    const tcUrl = typeof props.tcUrl === 'string' ? props.tcUrl : '';
    if (app === undefined || tcUrl.length > MAX_TC_URL_LENGTH) {
      this.#t.send(connectRejected(cmd.transactionId, 'Invalid application name.'));
      this.#t.close('refused', 'invalid application name', 'linger');
      return;
    }
    this.#app = app;
    this.#tcUrl = tcUrl;
    this.#t.sendConnectControls();
    // objectEncoding 0: whatever the client offered, we speak AMF0.
    this.#t.send(connectResult(cmd.transactionId, 0));
    this.#phase = 'ready';
    this.#t.log.debug({ app }, 'connected');
  }

  #publish(cmd: Command, streamId: number): void {
    if (this.#phase !== 'ready') {
      // One publish per connection: a second one is refused, the first goes on.
      const description = 'Already publishing on this connection.';
      this.#t.send(onStatus(streamId, 'error', 'NetStream.Publish.BadName', description));
      return;
    }
    const name = cmd.args[0];
    if (!isValidStreamName(name)) {
      this.#refuse(streamId, 'Invalid stream name.', 'invalid stream name');
      return;
    }
    this.#phase = 'authorizing';
    this.#publishStreamId = streamId;
    const request: PublishRequest = {
      app: this.#app,
      streamName: name,
      tcUrl: this.#tcUrl,
      remoteAddress: this.#t.remoteAddress,
    };
    void this.#authorize(request, streamId).catch((err: unknown) =>
      this.#t.close('protocol-error', err instanceof Error ? err.message : String(err)),
    );
  }

  async #authorize(request: PublishRequest, streamId: number): Promise<void> {
    try {
      await this.#hooks.authorize(request);
    } catch (err) {
      if (this.#t.isClosing()) return;
      const description = AppError.is(err) ? err.message : 'Publishing refused.';
      this.#refuse(streamId, description, err instanceof Error ? err.message : String(err));
      return;
    }
    if (this.#t.isClosing()) return; // the client left while we waited
    const key = `${request.app}/${request.streamName}`;
    if (!this.#hooks.claim(key)) {
      this.#refuse(streamId, 'Stream is already being published.', 'stream already published');
      return;
    }
    this.#claimed = key;
    this.#t.send(streamBegin(streamId));
    this.#t.send(onStatus(streamId, 'status', 'NetStream.Publish.Start', 'Publishing started.'));
    if (this.#t.isClosing()) return;
    this.#phase = 'publishing';
    const session = new RtmpPublishSession(this.#id, request, {
      resume: () => this.#t.resume(),
      kick: (reason) => this.#t.close('kicked', reason),
      bytesReceived: () => this.#t.bytesReceived(),
    });
    this.#session = session;
    this.#t.log.info({ app: request.app }, 'publish started');
    try {
      this.#hooks.onPublish(session);
    } catch (err) {
      this.#t.log.error({ err }, 'onPublish threw; kicking the publisher');
      this.#t.close('kicked', 'onPublish threw');
    }
  }

  #refuse(streamId: number, description: string, why: string): void {
    this.#t.send(onStatus(streamId, 'error', 'NetStream.Publish.BadName', description));
    this.#t.close('refused', why, 'linger');
  }

  #unpublish(): void {
    if (this.#phase === 'publishing' || this.#phase === 'authorizing') {
      this.#t.close('unpublished', undefined, 'linger');
    }
  }
}
