"""hello in Python: serves on the socket outlast hands over (fd 3, LISTEN_FDS,
the systemd way) when there is one, else on PORT; says READY=1 on
OUTLAST_NOTIFY_SOCKET; drains on SIGTERM from a thread (shutdown() called
from the signal handler itself would deadlock serve_forever), and answers
every request it accepted before it exits (server_close() joins the request
threads; daemon threads would be dropped mid-answer)."""
import json
import os
import signal
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = os.environ.get("OUTLAST_VERSION", "1.0.0")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"service": "python-hello", "version": VERSION, "pid": os.getpid()}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def inherited_socket():
    if os.environ.get("LISTEN_FDS") == "1" and os.environ.get("LISTEN_PID") == str(os.getpid()):
        return socket.fromfd(3, socket.AF_INET, socket.SOCK_STREAM)
    return None


def notify_ready():
    path = os.environ.get("OUTLAST_NOTIFY_SOCKET")
    if not path:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        s.sendall(f"MAINPID={os.getpid()}\nREADY=1\n".encode())


sock = inherited_socket()
if sock is not None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    server.socket.listen(128)
else:
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8080"))), Handler)
# Not daemon threads: at exit, server_close() waits for the requests in flight.
server.daemon_threads = False
server.block_on_close = True

signal.signal(signal.SIGTERM, lambda signum, frame: threading.Thread(target=server.shutdown, daemon=True).start())
notify_ready()
print(f"python-hello {VERSION} serving (pid {os.getpid()}, {'fd 3' if sock else 'PORT'})", flush=True)
try:
    server.serve_forever()
finally:
    server.server_close()
