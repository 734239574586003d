export {
  CHANNEL_LIMITS,
  Channel,
  type ChannelHandle,
  type ChannelOptions,
  type ChannelSizeOptions,
  type PollHandler,
} from './channel.js';
export {
  bytesCodec,
  type Codec,
  type CodecName,
  type MsgpackCodecOptions,
  msgpackCodec,
  resolveCodec,
  utf8Codec,
} from './codec.js';
export {
  RingBuffer,
  type RingBufferHandle,
  type TypedArray,
  type TypedArrayConstructor,
} from './ring-buffer.js';
export { untilClosed } from './until-closed.js';
