// Helpers to build Messages and classify their types.
import { MessageType, NONE, type Message } from './types';

/** A message with every field at its zero value, overridden by `fields`. */
export function makeMessage(fields: Partial<Message> & { type: MessageType }): Message {
  return {
    to: NONE,
    from: NONE,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    ...fields,
  };
}

const LOCAL_TYPES = new Set<MessageType>([
  MessageType.Hup,
  MessageType.Beat,
  MessageType.Unreachable,
  MessageType.SnapStatus,
  MessageType.CheckQuorum,
]);

/** Types only the node itself may step (never received from the network). */
export function isLocalMessage(type: MessageType): boolean {
  return LOCAL_TYPES.has(type);
}

const RESPONSE_TYPES = new Set<MessageType>([
  MessageType.AppResp,
  MessageType.VoteResp,
  MessageType.HeartbeatResp,
  MessageType.Unreachable,
  MessageType.ReadIndexResp,
  MessageType.PreVoteResp,
]);

export function isResponseMessage(type: MessageType): boolean {
  return RESPONSE_TYPES.has(type);
}

export function voteResponseType(type: MessageType): MessageType {
  switch (type) {
    case MessageType.Vote:
      return MessageType.VoteResp;
    case MessageType.PreVote:
      return MessageType.PreVoteResp;
    default:
      throw new Error(`not a vote message: ${MessageType[type]}`);
  }
}
