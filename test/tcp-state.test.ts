/**
 * The TCP state machine from literal segments, smoltcp style: the test plays the peer, feeds
 * segments as real frames, and asserts the exact segments the endpoint sends back, on a clock it
 * drives. Traces follow RFC 9293 (section 3.5's figures, 3.10's event processing), RFC 5961
 * (RST and SYN attacks: challenge ACKs), RFC 6298 (retransmission), RFC 5681 / 6582 (fast
 * retransmit, NewReno), RFC 7323 (window scale, timestamps, PAWS) and RFC 2018 (SACK).
 */
import { describe, expect, it } from 'vitest';
import {
  TCB_CWND, TCB_MSS, TCB_RTO, TCB_SND_UNA, TCB_SND_WND, TCB_SSTHRESH, TcpStat,
} from '../assembly/shared/abi.js';
import { ACK, FIN, Harness, lit, PSH, RST, SYN, type Sent } from './helpers/tcp.js';

const text = (s: Sent) => new TextDecoder().decode(s.payload);
const WIN = 61440; // 15 chunks of 4096: the receive buffer, announced unscaled

/** An established client connection: our ISS and the peer's (1000). */
async function established(o: Parameters<typeof Harness.create>[0] = {}) {
  const h = await Harness.create(o);
  h.connect();
  const syn = h.recvOne();
  const iss = syn.seq;
  h.send({ flags: SYN | ACK, seq: 1000, ack: iss + 1, win: 65535, mss: 1460 });
  expect(lit(h.recvOne())).toMatchObject({ flags: ACK, seq: iss + 1, ack: 1001 });
  return { h, iss, irs: 1000 };
}

describe('opening (RFC 9293 3.5)', () => {
  it('active open: SYN with our MSS, the SYN-ACK, then our ACK; ESTABLISHED', async () => {
    const h = await Harness.create();
    h.connect();
    expect(h.state()).toBe('SYN_SENT');
    const syn = h.recvOne();
    expect(lit(syn)).toEqual({ srcPort: h.localPort, dstPort: 80, flags: SYN, seq: syn.seq, win: WIN, mss: 1460, payload: '' });
    h.send({ flags: SYN | ACK, seq: 1000, ack: syn.seq + 1, win: 8000, mss: 1400 });
    expect(lit(h.recvOne())).toEqual({ srcPort: h.localPort, dstPort: 80, flags: ACK, seq: syn.seq + 1, ack: 1001, win: WIN, payload: '' });
    expect(h.state()).toBe('ESTABLISHED');
    expect(h.field(TCB_MSS) & 0xffff).toBe(1400); // the smaller MSS
    expect(h.field(TCB_SND_WND)).toBe(8000);
  });

  it('passive open: a SYN to a listener gets a SYN-ACK; its ACK makes ESTABLISHED', async () => {
    const h = await Harness.create({ listen: [80] });
    h.localPort = 80;
    h.peerPort = 40000;
    h.send({ flags: SYN, seq: 100, win: 8192, mss: 1300 });
    const synAck = h.recvOne();
    expect(lit(synAck)).toEqual({ srcPort: 80, dstPort: 40000, flags: SYN | ACK, seq: synAck.seq, ack: 101, win: WIN, mss: 1460, payload: '' });
    h.tcb = h.find(80, 40000);
    expect(h.state()).toBe('SYN_RECEIVED');
    h.send({ flags: ACK, seq: 101, ack: synAck.seq + 1, win: 8192 });
    expect(h.recv()).toEqual([]);
    expect(h.state()).toBe('ESTABLISHED');
    expect(h.endpoint.counter(TcpStat.ACCEPTED)).toBe(1);
  });

  it('a lost SYN-ACK: the SYN again gets the SYN-ACK again', async () => {
    const h = await Harness.create({ listen: [80] });
    h.localPort = 80;
    h.peerPort = 40000;
    h.send({ flags: SYN, seq: 100, mss: 1460 });
    const first = h.recvOne();
    h.send({ flags: SYN, seq: 100, mss: 1460 });
    expect(lit(h.recvOne())).toMatchObject({ flags: SYN | ACK, seq: first.seq, ack: 101 });
  });

  it('simultaneous open (figure 7): SYN crosses SYN; SYN-ACK both ways; ESTABLISHED', async () => {
    const h = await Harness.create();
    h.connect();
    const syn = h.recvOne();
    h.send({ flags: SYN, seq: 300, mss: 1460 });
    expect(h.state()).toBe('SYN_RECEIVED');
    const synAck = h.recvOne();
    expect(lit(synAck)).toMatchObject({ flags: SYN | ACK, seq: syn.seq, ack: 301 });
    h.send({ flags: SYN | ACK, seq: 300, ack: syn.seq + 1, mss: 1460 });
    // The peer's SYN-ACK repeats a SYN already in: the SYN check answers with an ACK (RFC 5961 4).
    h.recv();
    h.send({ flags: ACK, seq: 301, ack: syn.seq + 1 });
    expect(h.state()).toBe('ESTABLISHED');
  });

  it('a SYN-ACK that acknowledges something else gets an RST <SEQ=SEG.ACK> (old duplicate, figure 8)', async () => {
    const h = await Harness.create();
    h.connect();
    const syn = h.recvOne();
    h.send({ flags: SYN | ACK, seq: 90, ack: syn.seq + 1000 });
    expect(lit(h.recvOne())).toEqual({ srcPort: h.localPort, dstPort: 80, flags: RST, seq: syn.seq + 1000, win: 0, payload: '' });
    expect(h.state()).toBe('SYN_SENT');
    h.send({ flags: SYN | ACK, seq: 400, ack: syn.seq + 1 });
    expect(lit(h.recvOne())).toMatchObject({ flags: ACK, seq: syn.seq + 1, ack: 401 });
    expect(h.state()).toBe('ESTABLISHED');
  });
});

describe('data', () => {
  it('sends what the application writes, acknowledging the peer', async () => {
    const { h, iss } = await established();
    h.endpoint.send(h.tcb, new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n'));
    expect(lit(h.recvOne())).toEqual({ srcPort: h.localPort, dstPort: 80, flags: ACK | PSH, seq: iss + 1, ack: 1001, win: WIN, payload: 'GET / HTTP/1.1\r\n\r\n' });
    h.send({ flags: ACK, seq: 1001, ack: iss + 19 });
    expect(h.field(TCB_SND_UNA)).toBe(iss + 19);
  });

  it('cuts what the application writes into MSS segments, up to the initial window (RFC 6928: 10 segments)', async () => {
    const { h, iss } = await established();
    h.endpoint.send(h.tcb, new Uint8Array(20000).fill(97));
    const sent = h.recv();
    expect(sent.map((s) => [s.seq - iss - 1, s.payload.length])).toEqual(Array.from({ length: 10 }, (_, i) => [i * 1460, 1460]));
    // One ACK of two segments: two leave the flight and slow start grows the window by
    // min(N, SMSS) (RFC 5681 3.1): three more go.
    h.send({ flags: ACK, seq: 1001, ack: iss + 1 + 2 * 1460 });
    expect(h.recv().map((s) => s.seq - iss - 1)).toEqual([14600, 16060, 17520]);
    expect(h.field(TCB_CWND)).toBe(11 * 1460);
  });

  it('delays the ACK of one segment (40 ms), acknowledges every second at once', async () => {
    const { h, iss } = await established();
    h.send({ flags: ACK | PSH, seq: 1001, ack: iss + 1, payload: 'a'.repeat(100) });
    expect(h.recv()).toEqual([]);
    h.advance(39);
    expect(h.recv()).toEqual([]);
    h.advance(1);
    expect(lit(h.recvOne())).toMatchObject({ flags: ACK, seq: iss + 1, ack: 1101, win: WIN - 100 });
    expect(h.endpoint.counter(TcpStat.DELAYED_ACKS)).toBe(1);
    h.send({ flags: ACK, seq: 1101, ack: iss + 1, payload: 'b'.repeat(100) });
    h.send({ flags: ACK, seq: 1201, ack: iss + 1, payload: 'c'.repeat(100) });
    expect(lit(h.recvOne())).toMatchObject({ flags: ACK, ack: 1301 });
    expect(new TextDecoder().decode(h.endpoint.recv(h.tcb))).toBe('a'.repeat(100) + 'b'.repeat(100) + 'c'.repeat(100));
  });

  it('holds out-of-order segments, answers each with a duplicate ACK, delivers in order once the hole fills', async () => {
    const { h, iss } = await established();
    h.send({ flags: ACK, seq: 1101, ack: iss + 1, payload: 'B'.repeat(100) });
    expect(lit(h.recvOne())).toMatchObject({ flags: ACK, ack: 1001 });
    h.send({ flags: ACK, seq: 1301, ack: iss + 1, payload: 'D'.repeat(100) });
    expect(lit(h.recvOne())).toMatchObject({ flags: ACK, ack: 1001 });
    expect(h.endpoint.recv(h.tcb).length).toBe(0);
    h.send({ flags: ACK, seq: 1001, ack: iss + 1, payload: 'A'.repeat(100) });
    expect(lit(h.recvOne())).toMatchObject({ flags: ACK, ack: 1201 }); // a filled hole is acknowledged at once
    h.send({ flags: ACK, seq: 1201, ack: iss + 1, payload: 'C'.repeat(100) });
    expect(lit(h.recvOne())).toMatchObject({ flags: ACK, ack: 1401 });
    expect(new TextDecoder().decode(h.endpoint.recv(h.tcb))).toBe('ABCD'.split('').map((c) => c.repeat(100)).join(''));
    expect(h.endpoint.counter(TcpStat.OUT_OF_ORDER)).toBe(2);
  });

  it('an old duplicate segment is acknowledged and not delivered twice', async () => {
    const { h, iss } = await established();
    h.send({ flags: ACK | PSH, seq: 1001, ack: iss + 1, payload: 'hello' });
    h.send({ flags: ACK | PSH, seq: 1001, ack: iss + 1, payload: 'hello' });
    expect(lit(h.recvOne())).toMatchObject({ flags: ACK, ack: 1006 });
    expect(text({ payload: h.endpoint.recv(h.tcb) } as Sent)).toBe('hello');
    expect(h.endpoint.counter(TcpStat.OUT_OF_WINDOW)).toBe(1);
  });

  it('a segment overlapping what arrived delivers only the new bytes', async () => {
    const { h, iss } = await established();
    h.send({ flags: ACK, seq: 1001, ack: iss + 1, payload: 'abcdef' });
    h.send({ flags: ACK, seq: 1004, ack: iss + 1, payload: 'defghi' });
    expect(text({ payload: h.endpoint.recv(h.tcb) } as Sent)).toBe('abcdefghi');
  });
});

describe('closing (RFC 9293 3.6)', () => {
  it('active close: FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT, and the port back in the pool when it ends', async () => {
    const { h, iss } = await established({ endpoint: { timeWaitMs: 1000 } });
    const pool = () => h.endpoint.ports()[0]!;
    const size = pool().size;
    expect(pool().available).toBe(size - 1);
    h.endpoint.close(h.tcb);
    expect(h.state()).toBe('FIN_WAIT_1');
    expect(lit(h.recvOne())).toMatchObject({ flags: FIN | ACK, seq: iss + 1, ack: 1001 });
    h.send({ flags: ACK, seq: 1001, ack: iss + 2 });
    expect(h.state()).toBe('FIN_WAIT_2');
    h.send({ flags: FIN | ACK, seq: 1001, ack: iss + 2 });
    expect(lit(h.recvOne())).toMatchObject({ flags: ACK, seq: iss + 2, ack: 1002 });
    expect(h.find(h.localPort, 80)).toBeLessThan(-1); // a TIME-WAIT entry holds the tuple
    expect(h.endpoint.counter(TcpStat.TCBS_ACTIVE)).toBe(0);
    expect(pool().available).toBe(size - 1); // the port stays out while TIME-WAIT lasts
    // A FIN again (our ACK was lost): acknowledged again from TIME-WAIT.
    h.send({ flags: FIN | ACK, seq: 1001, ack: iss + 2 });
    expect(lit(h.recvOne())).toMatchObject({ flags: ACK, seq: iss + 2, ack: 1002 });
    h.advance(999);
    expect(h.find(h.localPort, 80)).toBeLessThan(-1);
    h.advance(2);
    expect(h.find(h.localPort, 80)).toBe(-1);
    expect(pool().available).toBe(size);
    expect(h.endpoint.counter(TcpStat.TIME_WAIT_ENDED)).toBe(1);
  });

  it('passive close: CLOSE-WAIT on the FIN, LAST-ACK on close, CLOSED on the ACK', async () => {
    const { h, iss } = await established();
    h.send({ flags: FIN | ACK, seq: 1001, ack: iss + 1 });
    expect(lit(h.recvOne())).toMatchObject({ flags: ACK, ack: 1002 });
    expect(h.state()).toBe('CLOSE_WAIT');
    h.endpoint.close(h.tcb);
    expect(h.state()).toBe('LAST_ACK');
    expect(lit(h.recvOne())).toMatchObject({ flags: FIN | ACK, seq: iss + 1, ack: 1002 });
    h.send({ flags: ACK, seq: 1002, ack: iss + 2 });
    expect(h.state()).toBe('CLOSED');
    expect(h.find(h.localPort, 80)).toBe(-1);
    expect(h.endpoint.ports()[0]!.available).toBe(h.endpoint.ports()[0]!.size);
  });

  it('simultaneous close (figure 13): FINs cross, CLOSING, then TIME-WAIT', async () => {
    const { h, iss } = await established();
    h.endpoint.close(h.tcb);
    expect(lit(h.recvOne())).toMatchObject({ flags: FIN | ACK, seq: iss + 1 });
    h.send({ flags: FIN | ACK, seq: 1001, ack: iss + 1 });
    expect(h.state()).toBe('CLOSING');
    expect(lit(h.recvOne())).toMatchObject({ flags: ACK, seq: iss + 2, ack: 1002 });
    h.send({ flags: ACK, seq: 1002, ack: iss + 2 });
    expect(h.find(h.localPort, 80)).toBeLessThan(-1);
  });

  it('a FIN with data: the data is delivered, then the FIN', async () => {
    const { h, iss } = await established();
    h.send({ flags: FIN | ACK | PSH, seq: 1001, ack: iss + 1, payload: 'bye' });
    expect(lit(h.recvOne())).toMatchObject({ flags: ACK, ack: 1005 });
    expect(text({ payload: h.endpoint.recv(h.tcb) } as Sent)).toBe('bye');
    expect(h.state()).toBe('CLOSE_WAIT');
  });

  it('a FIN that arrives before missing data waits for the data', async () => {
    const { h, iss } = await established();
    h.send({ flags: FIN | ACK, seq: 1006, ack: iss + 1, payload: 'world' });
    expect(lit(h.recvOne())).toMatchObject({ flags: ACK, ack: 1001 });
    expect(h.state()).toBe('ESTABLISHED');
    h.send({ flags: ACK, seq: 1001, ack: iss + 1, payload: 'hello' });
    expect(lit(h.recvOne())).toMatchObject({ flags: ACK, ack: 1012 });
    expect(h.state()).toBe('CLOSE_WAIT');
    expect(text({ payload: h.endpoint.recv(h.tcb) } as Sent)).toBe('helloworld');
  });
});

describe('RST in every state (RFC 9293 3.10.7, RFC 5961 3)', () => {
  it('SYN-SENT: an RST with an acceptable ACK resets; without an ACK it is ignored', async () => {
    const h = await Harness.create();
    h.connect();
    const syn = h.recvOne();
    h.send({ flags: RST, seq: 0 });
    expect(h.state()).toBe('SYN_SENT');
    h.send({ flags: RST | ACK, seq: 0, ack: syn.seq + 1 });
    expect(h.state()).toBe('CLOSED');
    expect(h.recv()).toEqual([]);
    expect(h.endpoint.ports()[0]!.available).toBe(h.endpoint.ports()[0]!.size);
  });

  it('SYN-RECEIVED (passive): an RST returns to LISTEN, the listener stays', async () => {
    const h = await Harness.create({ listen: [80] });
    h.localPort = 80;
    h.peerPort = 40000;
    h.send({ flags: SYN, seq: 100 });
    h.recvOne();
    h.send({ flags: RST, seq: 101 });
    expect(h.find(80, 40000)).toBe(-1);
    h.send({ flags: SYN, seq: 500 });
    expect(lit(h.recvOne())).toMatchObject({ flags: SYN | ACK, ack: 501 });
  });

  for (const state of ['ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2', 'CLOSE_WAIT', 'CLOSING', 'LAST_ACK'] as const) {
    it(`${state}: an RST at RCV.NXT resets; one elsewhere in the window gets a challenge ACK; one outside is ignored`, async () => {
      const { h, iss } = await established();
      let rcvNxt = 1001;
      if (state === 'FIN_WAIT_1' || state === 'FIN_WAIT_2' || state === 'CLOSING') {
        h.endpoint.close(h.tcb);
        h.recv();
        if (state === 'FIN_WAIT_2') h.send({ flags: ACK, seq: 1001, ack: iss + 2 });
        if (state === 'CLOSING') {
          h.send({ flags: FIN | ACK, seq: 1001, ack: iss + 1 });
          rcvNxt = 1002;
        }
      } else if (state === 'CLOSE_WAIT' || state === 'LAST_ACK') {
        h.send({ flags: FIN | ACK, seq: 1001, ack: iss + 1 });
        rcvNxt = 1002;
        if (state === 'LAST_ACK') h.endpoint.close(h.tcb);
      }
      h.recv();
      expect(h.state()).toBe(state);
      h.send({ flags: RST, seq: rcvNxt + 100 });
      expect(lit(h.recvOne())).toMatchObject({ flags: ACK, ack: rcvNxt }); // the challenge ACK
      expect(h.state()).toBe(state);
      h.send({ flags: RST, seq: rcvNxt + 1_000_000 });
      expect(h.recv()).toEqual([]);
      expect(h.state()).toBe(state);
      h.send({ flags: RST, seq: rcvNxt });
      expect(h.state()).toBe('CLOSED');
      expect(h.recv()).toEqual([]);
      expect(h.endpoint.counter(TcpStat.CHALLENGE_ACKS)).toBe(1);
    });
  }

  it('TIME-WAIT: an RST at RCV.NXT ends it, and gives the port back', async () => {
    const { h, iss } = await established();
    h.endpoint.close(h.tcb);
    h.recv();
    h.send({ flags: FIN | ACK, seq: 1001, ack: iss + 2 });
    h.recv();
    expect(h.find(h.localPort, 80)).toBeLessThan(-1);
    h.send({ flags: RST, seq: 1005 });
    expect(h.find(h.localPort, 80)).toBeLessThan(-1);
    h.send({ flags: RST, seq: 1002 });
    expect(h.find(h.localPort, 80)).toBe(-1);
    expect(h.endpoint.counter(TcpStat.TIME_WAIT_RESET)).toBe(1);
    expect(h.endpoint.ports()[0]!.available).toBe(h.endpoint.ports()[0]!.size);
  });

  it('a segment to no connection gets an RST: <SEQ=SEG.ACK> for an ACK, <SEQ=0><ACK=SEG.SEQ+LEN> for a SYN', async () => {
    const h = await Harness.create();
    h.localPort = 5555;
    h.peerPort = 4444;
    h.send({ flags: ACK, seq: 10, ack: 20, payload: 'x' });
    expect(lit(h.recvOne())).toEqual({ srcPort: 5555, dstPort: 4444, flags: RST, seq: 20, win: 0, payload: '' });
    h.send({ flags: SYN, seq: 77 });
    expect(lit(h.recvOne())).toEqual({ srcPort: 5555, dstPort: 4444, flags: RST | ACK, seq: 0, ack: 78, win: 0, payload: '' });
    h.send({ flags: RST, seq: 1 });
    expect(h.recv()).toEqual([]);
  });
});

describe('attacks and old segments (RFC 5961, RFC 9293 3.10.7.4)', () => {
  it('a SYN in ESTABLISHED gets a challenge ACK; the connection stays', async () => {
    const { h, iss } = await established();
    h.send({ flags: SYN, seq: 5000 });
    expect(lit(h.recvOne())).toMatchObject({ flags: ACK, seq: iss + 1, ack: 1001 });
    expect(h.state()).toBe('ESTABLISHED');
  });

  it('half-open (figure 10): the peer rebooted and sends a SYN; our challenge ACK brings its RST, which resets us', async () => {
    const { h } = await established();
    h.send({ flags: SYN, seq: 400 });
    const challenge = h.recvOne();
    expect(challenge.flags).toBe(ACK);
    // The peer, in SYN-SENT, finds the ACK unacceptable and answers <SEQ=SEG.ACK><CTL=RST>.
    h.send({ flags: RST, seq: challenge.ack! });
    expect(h.state()).toBe('CLOSED');
  });

  it('an ACK for data never sent is answered with an ACK and dropped', async () => {
    const { h, iss } = await established();
    h.send({ flags: ACK, seq: 1001, ack: iss + 500, payload: 'x' });
    expect(lit(h.recvOne())).toMatchObject({ flags: ACK, seq: iss + 1, ack: 1001 });
    expect(h.endpoint.recv(h.tcb).length).toBe(0);
  });

  it('challenge ACKs stop at the limit a second', async () => {
    const { h } = await established({ tcp: { challengeAckLimit: 2 } });
    for (let i = 0; i < 5; i++) h.send({ flags: SYN, seq: 9000 + i });
    expect(h.recv().length).toBe(1); // queued ACKs to one TCB go out as one
    expect(h.endpoint.counter(TcpStat.CHALLENGE_ACKS)).toBe(2);
    expect(h.endpoint.counter(TcpStat.CHALLENGE_ACKS_LIMITED)).toBe(3);
    h.advance(1000);
    h.send({ flags: SYN, seq: 9100 });
    expect(h.endpoint.counter(TcpStat.CHALLENGE_ACKS)).toBe(3);
  });
});

describe('retransmission (RFC 6298)', () => {
  it('the SYN again after 1 s, 2 s, 4 s ...; after the retry limit the connection is given up', async () => {
    const h = await Harness.create({ tcp: { synRetries: 3 } });
    h.connect();
    const syn = h.recvOne();
    const at: number[] = [];
    for (let ms = 0; ms < 20000; ms += 100) {
      h.advance(100);
      for (const s of h.recv()) {
        expect(lit(s)).toMatchObject({ flags: SYN, seq: syn.seq });
        at.push(h.ms - 1);
      }
    }
    expect(at).toEqual([1000, 3000, 7000]);
    expect(h.state()).toBe('CLOSED');
    expect(h.endpoint.counter(TcpStat.RETRY_LIMIT)).toBe(1);
    expect(h.endpoint.ports()[0]!.available).toBe(h.endpoint.ports()[0]!.size);
  });

  it('a SYN sent twice and no timestamps: no round trip measured, the RTO starts from 3 s (RFC 6298 5.7)', async () => {
    const h = await Harness.create();
    h.connect();
    const syn = h.recvOne();
    h.advance(1000);
    expect(h.recvOne().flags).toBe(SYN);
    h.send({ flags: SYN | ACK, seq: 1000, ack: syn.seq + 1, mss: 1460 });
    expect(h.field(TCB_RTO)).toBe(3000);
  });

  it('the SYN-ACK arrives after the timer queued the SYN again: ESTABLISHED, and data goes from ISS + 1', async () => {
    const h = await Harness.create();
    h.connect();
    const syn = h.recvOne();
    h.advance(1000); // the SYN's timer: SND.NXT back to ISS, the SYN queued again (not sent yet)
    h.send({ flags: SYN | ACK, seq: 1000, ack: syn.seq + 1, mss: 1460 });
    expect(h.state()).toBe('ESTABLISHED');
    h.endpoint.send(h.tcb, new TextEncoder().encode('GET'));
    expect(h.recv().map(lit)).toEqual([{ srcPort: h.localPort, dstPort: 80, flags: ACK | PSH, seq: syn.seq + 1, ack: 1001, win: WIN, payload: 'GET' }]);
  });

  it('passive: the ACK arrives after the timer queued the SYN-ACK again: data goes from ISS + 1', async () => {
    const h = await Harness.create({ listen: [80] });
    h.localPort = 80;
    h.peerPort = 40000;
    h.send({ flags: SYN, seq: 100, mss: 1460 });
    const synAck = h.recvOne();
    h.advance(1000);
    h.send({ flags: ACK, seq: 101, ack: synAck.seq + 1 });
    h.tcb = h.find(80, 40000);
    expect(h.state()).toBe('ESTABLISHED');
    h.endpoint.send(h.tcb, new TextEncoder().encode('hi'));
    expect(h.recv().map(lit)).toEqual([{ srcPort: 80, dstPort: 40000, flags: ACK | PSH, seq: synAck.seq + 1, ack: 101, win: WIN, payload: 'hi' }]);
  });

  it('data: retransmitted from SND.UNA at the RTO, which doubles each time (200, 400, 800 ms)', async () => {
    const { h, iss } = await established();
    expect(h.field(TCB_RTO)).toBe(200); // a handshake round trip of 0 ms: the minimum
    h.endpoint.send(h.tcb, new TextEncoder().encode('data'));
    h.recvOne();
    const times: number[] = [];
    for (let i = 0; i < 15; i++) {
      h.advance(100);
      for (const s of h.recv()) {
        expect(lit(s)).toMatchObject({ seq: iss + 1, payload: 'data' });
        times.push(h.ms - 1);
      }
    }
    expect(times).toEqual([200, 600, 1400]);
    expect(h.field(TCB_CWND)).toBe(1460); // the loss window
    h.send({ flags: ACK, seq: 1001, ack: iss + 5 });
    h.advance(3000);
    expect(h.recv()).toEqual([]);
  });

  it('three duplicate ACKs: fast retransmit, then NewReno retransmits the next hole on a partial ACK', async () => {
    const { h, iss } = await established();
    h.endpoint.send(h.tcb, new Uint8Array(5 * 1460).fill(120));
    expect(h.recv().length).toBe(5);
    for (let i = 0; i < 3; i++) h.send({ flags: ACK, seq: 1001, ack: iss + 1, win: 65535 });
    const fast = h.recvOne();
    expect(fast.seq).toBe(iss + 1);
    expect(h.endpoint.counter(TcpStat.FAST_RETRANSMITS)).toBe(1);
    expect(h.field(TCB_SSTHRESH)).toBe(Math.floor(5 * 1460 / 2));
    // Segments 1 and 3 were lost: the ACK of the first stops at the second hole.
    h.send({ flags: ACK, seq: 1001, ack: iss + 1 + 2 * 1460, win: 65535 });
    const next = h.recv();
    expect(next[0]!.seq).toBe(iss + 1 + 2 * 1460);
    h.send({ flags: ACK, seq: 1001, ack: iss + 1 + 5 * 1460, win: 65535 });
    expect(h.field(TCB_CWND)).toBe(2 * 1460); // min(ssthresh, max(FlightSize, SMSS) + SMSS) on the full ACK
  });
});

describe('windows (RFC 7323, RFC 9293 3.8.6)', () => {
  it('window scale: the peer\'s shift scales its window; ours scales what we announce', async () => {
    const h = await Harness.create({ tcp: { windowScale: true }, endpoint: { windowShift: 4 } });
    h.connect();
    const syn = h.recvOne();
    expect(syn.ws).toBe(4);
    expect(syn.win).toBe(WIN); // a SYN's window is never scaled
    h.send({ flags: SYN | ACK, seq: 1000, ack: syn.seq + 1, win: 65535, mss: 1460, ws: 7 });
    const ack = h.recvOne();
    expect(ack.win).toBe(WIN >> 4);
    h.send({ flags: ACK, seq: 1001, ack: syn.seq + 1, win: 3 });
    expect(h.field(TCB_SND_WND)).toBe(3 << 7);
  });

  it('a zero window: no data goes; probes go on the timer (backing off); an opening window lets the data go', async () => {
    const { h, iss } = await established();
    h.send({ flags: ACK, seq: 1001, ack: iss + 1, win: 0 });
    h.endpoint.send(h.tcb, new TextEncoder().encode('abcdef'));
    expect(h.recv()).toEqual([]);
    const probes: number[] = [];
    for (let i = 0; i < 20; i++) {
      h.advance(100);
      for (const s of h.recv()) {
        expect(lit(s)).toMatchObject({ seq: iss + 1, payload: 'a' });
        probes.push(h.ms - 1);
        h.send({ flags: ACK, seq: 1001, ack: iss + 1, win: 0 }); // still shut
      }
    }
    expect(probes).toEqual([200, 600, 1400]); // one RTO, then backing off
    expect(h.endpoint.counter(TcpStat.ZERO_WINDOW_PROBES)).toBe(3);
    h.send({ flags: ACK, seq: 1001, ack: iss + 1, win: 1000 });
    expect(lit(h.recvOne())).toMatchObject({ seq: iss + 1, payload: 'abcdef' });
  });

  it('our receive window fills when the application does not read; it shrinks to zero and opens again', async () => {
    const { h, iss } = await established({ endpoint: { receiveBuffer: 3000 } });
    h.send({ flags: ACK, seq: 1001, ack: iss + 1, payload: new Uint8Array(1460) });
    h.send({ flags: ACK, seq: 2461, ack: iss + 1, payload: new Uint8Array(1460) });
    expect(lit(h.recvOne())).toMatchObject({ ack: 3921, win: 3000 - 2920 });
    h.send({ flags: ACK, seq: 3921, ack: iss + 1, payload: new Uint8Array(80) });
    h.advance(40);
    expect(lit(h.recvOne())).toMatchObject({ ack: 4001, win: 0 });
    // Beyond a zero window: not acceptable, acknowledged with the window still zero.
    h.send({ flags: ACK, seq: 4001, ack: iss + 1, payload: new Uint8Array(10) });
    expect(lit(h.recvOne())).toMatchObject({ ack: 4001, win: 0 });
    expect(h.endpoint.recv(h.tcb).length).toBe(3000);
    expect(lit(h.recvOne())).toMatchObject({ flags: ACK, ack: 4001, win: 3000 }); // the window update
  });
});

describe('options (RFC 7323 timestamps and PAWS, RFC 2018 SACK)', () => {
  it('timestamps: offered on SYN, echoed, TS.Recent kept; an older timestamp is dropped (PAWS)', async () => {
    const h = await Harness.create({ tcp: { timestamps: true, sack: true } });
    h.connect();
    const syn = h.recvOne();
    expect(syn.sackPermitted).toBe(true);
    expect(syn.ts![1]).toBe(0);
    h.send({ flags: SYN | ACK, seq: 1000, ack: syn.seq + 1, mss: 1460, ts: [5000, syn.ts![0]], sackPermitted: true });
    const ack = h.recvOne();
    expect(ack.ts![1]).toBe(5000);
    expect(h.field(TCB_MSS) & 0xffff).toBe(1460 - 12); // the option's bytes come off the MSS
    h.send({ flags: ACK, seq: 1001, ack: syn.seq + 1, ts: [5010, ack.ts![0]], payload: 'new' });
    h.advance(40);
    expect(h.recvOne().ts![1]).toBe(5010);
    h.send({ flags: ACK, seq: 1004, ack: syn.seq + 1, ts: [4000, ack.ts![0]], payload: 'old' });
    expect(lit(h.recvOne())).toMatchObject({ ack: 1004 });
    expect(h.endpoint.counter(TcpStat.DROP_PAWS)).toBe(1);
    expect(text({ payload: h.endpoint.recv(h.tcb) } as Sent)).toBe('new');
  });

  it('SACK: duplicate ACKs report the blocks held out of order', async () => {
    const h = await Harness.create({ tcp: { sack: true } });
    h.connect();
    const syn = h.recvOne();
    h.send({ flags: SYN | ACK, seq: 1000, ack: syn.seq + 1, mss: 1460, sackPermitted: true });
    h.recvOne();
    h.send({ flags: ACK, seq: 1101, ack: syn.seq + 1, payload: 'x'.repeat(100) });
    expect(lit(h.recvOne())).toMatchObject({ ack: 1001, sack: [[1101, 1201]] });
    h.send({ flags: ACK, seq: 1301, ack: syn.seq + 1, payload: 'y'.repeat(100) });
    expect(lit(h.recvOne())).toMatchObject({ ack: 1001, sack: [[1101, 1201], [1301, 1401]] });
  });
});

describe('TIME-WAIT reuse (RFC 6191)', () => {
  it('a new SYN for a tuple in TIME-WAIT with a higher sequence number opens a new connection', async () => {
    const h = await Harness.create({ listen: [80] });
    const { iss } = h.accept(80, 40000, 100);
    h.endpoint.close(h.tcb);
    expect(lit(h.recvOne())).toMatchObject({ flags: FIN | ACK });
    h.send({ flags: FIN | ACK, seq: 101, ack: iss + 2 });
    h.recvOne();
    expect(h.find(80, 40000)).toBeLessThan(-1);
    h.send({ flags: SYN, seq: 50 }); // lower than RCV.NXT: an old duplicate: ACK it
    expect(lit(h.recvOne())).toMatchObject({ flags: ACK, ack: 102 });
    h.send({ flags: SYN, seq: 100000 });
    expect(lit(h.recvOne())).toMatchObject({ flags: SYN | ACK, ack: 100001 });
    expect(h.endpoint.counter(TcpStat.TIME_WAIT_REUSED)).toBe(1);
  });
});
