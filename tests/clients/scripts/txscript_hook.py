"""A webhook serving a TxScript function the way Rossum's documentation writes them, run in the
txscript venv (Python 3.12): `python txscript_hook.py PORT SECRET`. It checks X-Rossum-Signature-SHA256
as Rossum's receiver example does and answers with the function's hook response."""

import hashlib
import hmac
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from txscript import TxScript, default_to, substitute


def rossum_hook_request_handler(payload: dict) -> dict:
    t = TxScript.from_payload(payload)
    for row in t.field.line_items:
        if default_to(row.item_net_amount, 0) >= payload["settings"]["big_line"]:
            t.show_warning("Value is too big", row.item_net_amount)
    if default_to(t.field.gross_total, 0) >= payload["settings"]["big_line"]:
        t.show_warning("Value is too big", t.field.gross_total)
    t.show_info(f"checked in queue {t.context.queue.name}")
    # Remove dashes from the invoice number
    t.field.invoice_number = substitute(r"-", "", t.field.invoice_number)
    if default_to(t.field.gross_total, 0) > payload["settings"]["postpone_above"]:
        t.annotation.action("postpone")
        return t.hook_response()
    return t.hook_response()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        try:
            prefix, signature = self.headers["X-Rossum-Signature-SHA256"].split("=")
        except (KeyError, ValueError):
            return self._answer(401, {"detail": "Incorrect header format"})
        if not (prefix == "sha256" and hmac.compare_digest(signature, digest)):
            return self._answer(401, {"detail": "Authorization failed."})
        try:
            answer = rossum_hook_request_handler(json.loads(body))
        except Exception as e:  # a failing function answers a parsable error, as Rossum shows them
            return self._answer(500, {"messages": [{"type": "error", "content": f"{type(e).__name__}: {e}"}]})
        self._answer(200, answer)

    def _answer(self, status: int, data: dict) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    PORT, SECRET = int(sys.argv[1]), sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    print("ready", flush=True)
    server.serve_forever()
