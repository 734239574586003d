/**
 * Subjects and the names derived from them. A channel lives on one NATS subject: data goes to the
 * subject itself, the end-of-stream notice to `_SHMKIT.closed.<subject>` (every open channel object
 * listens there, so senders and receivers learn of close() at once), and in durable mode the data
 * and the end-of-stream marker are kept by a JetStream stream named after the subject.
 */
import { invalidArgument } from '@shmkit/core';

/** Longest subject accepted (the server's default max_control_line is 4 KiB for the whole line). */
const MAX_SUBJECT = 1024;

/**
 * Validates a channel subject: dot-separated tokens of printable ASCII, no empty token, no
 * whitespace, no wildcard (`*`, `>`): a channel sends to one subject. INVALID_ARGUMENT otherwise.
 */
export function validateSubject(subject: unknown): string {
  if (typeof subject !== 'string' || subject.length === 0) {
    invalidArgument(`a NATS subject must be a non-empty string, got ${JSON.stringify(subject)}`);
  }
  if (subject.length > MAX_SUBJECT) invalidArgument(`a NATS subject is at most ${MAX_SUBJECT} characters`);
  if (!/^[\x21-\x7e]+$/.test(subject)) {
    invalidArgument(`NATS subject ${JSON.stringify(subject)} has whitespace or non-ASCII characters`);
  }
  for (const token of subject.split('.')) {
    if (token === '') invalidArgument(`NATS subject ${JSON.stringify(subject)} has an empty token`);
    if (token === '*' || token === '>' || token.includes('*') || token.includes('>')) {
      invalidArgument(`NATS subject ${JSON.stringify(subject)} has a wildcard; a channel needs one subject`);
    }
  }
  return subject;
}

/** The subject of the end-of-stream notice of the channel on `subject`. */
export function closedSubject(subject: string): string {
  return `_SHMKIT.closed.${subject}`;
}

/** The default JetStream stream name of `subject` (stream names cannot hold `.`, `*`, `>`, spaces). */
export function streamNameFor(subject: string): string {
  return `SHMKIT_${subject.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** Validates a stream or consumer name given as an option. */
export function validateName(name: unknown, what: string): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_-]{1,200}$/.test(name)) {
    invalidArgument(`${what} must be 1-200 characters of A-Z a-z 0-9 _ -, got ${JSON.stringify(name)}`);
  }
  return name;
}
