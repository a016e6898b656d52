/**
 * Between the TCP engine and the application running on a connection (TCB_APP): the engine calls
 * these as things happen, and each goes to the application's own module. RAW keeps received bytes
 * in the receive buffer for the host to read (tcpRecv); the HTTP client and server read them in
 * place as they arrive.
 */
import { AppKind, TCB_APP } from "../shared/abi";
import * as client from "../app/client";
import * as server from "../app/server";

/** Why a connection ended, as its application hears it. */
export const enum AppEnd {
  /** closed by FIN both ways (it may still sit in TIME-WAIT) */
  CLOSED = 0,
  /** reset by the peer */
  RESET = 1,
  /** given up: a segment went unacknowledged through every retry */
  TIMEOUT = 2,
  /** aborted by us (tcpAbort) */
  ABORTED = 3,
  /** the peer refused it: RST in answer to our SYN */
  REFUSED = 4,
}

// @ts-ignore: decorator
@inline function app(t: usize): u32 { return <u32>load<u8>(t + TCB_APP); }

/** Whether the application reads bytes as they arrive (else they wait in the receive buffer). */
// @ts-ignore: decorator
@inline export function readsInPlace(t: usize): bool { return app(t) != AppKind.RAW; }

/** A passive open: a listener's SYN made TCB t (SYN-RECEIVED). */
export function appAccepted(t: usize): void {
  if (app(t) == AppKind.HTTP_SERVER) server.accepted(t);
}

/** TCB t reached ESTABLISHED. */
export function appEstablished(t: usize): void {
  const a = app(t);
  if (a == AppKind.HTTP_CLIENT) client.established(t);
  else if (a == AppKind.HTTP_SERVER) server.established(t);
}

/** `length` in-order bytes at `p` for TCB t (applications that read in place). */
export function appReceive(t: usize, p: usize, length: u32): void {
  const a = app(t);
  if (a == AppKind.HTTP_CLIENT) client.receive(t, p, length);
  else if (a == AppKind.HTTP_SERVER) server.receive(t, p, length);
}

/** The peer's FIN arrived (in order): no more bytes will come. */
export function appPeerClosed(t: usize): void {
  const a = app(t);
  if (a == AppKind.HTTP_CLIENT) client.peerClosed(t);
  else if (a == AppKind.HTTP_SERVER) server.peerClosed(t);
}

/** TCB t is ending (`why`); it is freed right after. */
export function appClosed(t: usize, why: u32): void {
  const a = app(t);
  if (a == AppKind.HTTP_CLIENT) client.closed(t, why);
  else if (a == AppKind.HTTP_SERVER) server.closed(t, why);
}

/** TCB t's application timer (TCB_APP_AT) is due. Returns false when t was freed. */
export function appTimer(t: usize): bool {
  const a = app(t);
  if (a == AppKind.HTTP_CLIENT) return client.timer(t);
  if (a == AppKind.HTTP_SERVER) return server.timer(t);
  return true;
}

/** TCB t has room to send again and asked for it (TcbFlag.APP_WANTS_ROOM). */
export function appPump(t: usize): void {
  const a = app(t);
  if (a == AppKind.HTTP_SERVER) server.pump(t);
  else if (a == AppKind.HTTP_CLIENT) client.pump(t);
}

/** Once per tcpPoll: applications that open connections do it here. */
export function appPoll(): void {
  client.poll();
}
