// The live-update socket: connects to /api/v1/live after the page's last event, reconnects by
// itself with backoff, resumes after the last event it saw, and tells the page.

const RETRY_MAX_MS = 10_000;

/**
 * Opens the socket. `handlers.event(frame)` gets each change, `handlers.presence(frame)` who is
 * viewing or typing; `handlers.open()` runs on every (re)connection. Returns `send(frame)`.
 */
export function connect(handlers) {
  let last = Number(document.querySelector('meta[name="last-event-id"]')?.content ?? 0) || 0;
  let socket = null;
  let retry = 500;
  const status = document.getElementById('live-status');
  const show = (text) => {
    if (!status) return;
    status.textContent = text;
    status.hidden = !text;
  };

  const open = () => {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    socket = new WebSocket(`${scheme}://${location.host}/api/v1/live?after=${last}`);
    socket.addEventListener('open', () => {
      retry = 500;
      show('');
      document.body.dataset.live = 'connected';
      handlers.open?.();
    });
    socket.addEventListener('message', (m) => {
      let frame;
      try { frame = JSON.parse(m.data); } catch { return; }
      if (frame.type === 'event') {
        if (frame.id <= last) return;
        last = frame.id;
        handlers.event?.(frame);
      } else if (frame.type === 'presence') {
        handlers.presence?.(frame);
      } else if (frame.type === 'reset') {
        location.reload();
      }
    });
    socket.addEventListener('close', () => {
      document.body.dataset.live = 'disconnected';
      show('Live updates paused: reconnecting…');
      setTimeout(open, retry);
      retry = Math.min(retry * 2, RETRY_MAX_MS);
    });
  };
  open();

  return (frame) => {
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  };
}
