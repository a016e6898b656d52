/**
 * Listening ports: a SYN to one of them opens a connection (passive open) running the
 * application registered with it. A handful at most, so a scan is the lookup.
 */
const LISTEN_MAX: u32 = 8;
let ports = new StaticArray<u32>(LISTEN_MAX);
let apps = new StaticArray<u32>(LISTEN_MAX);
let n: u32 = 0;

export function resetListeners(): void {
  n = 0;
}

/** Listens on `port` with application `app`; false when full or already listening. */
export function listen(port: u32, app: u32): bool {
  if (n == LISTEN_MAX || listenerApp(port) >= 0) return false;
  unchecked(ports[n] = port);
  unchecked(apps[n] = app);
  n++;
  return true;
}

/** The application listening on `port`, or -1. */
export function listenerApp(port: u32): i32 {
  for (let i: u32 = 0; i < n; i++) if (unchecked(ports[i]) == port) return <i32>unchecked(apps[i]);
  return -1;
}
