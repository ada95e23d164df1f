"""A station's webhook receiver as its developer would write it: subscribe to ticket changes,
take a ticket through a change, and verify the signed message with the Standard Webhooks
reference library (`standardwebhooks` from PyPI); a changed body must fail to verify.

Usage: webhook_receiver.py BASE_URL (echelon serving with ECHELON_WEBHOOK_ALLOW_HOSTS=127.0.0.1)
"""
import json
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

base = sys.argv[1]
got = []


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        got.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()


def call(method, path, token=None, body=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(request) as answer:
        text = answer.read()
        return json.loads(text) if text else None


def login(user):
    return call("POST", "/api/v1/auth/login", body={"username": user, "password": "echelon-demo"})["access_token"]


station = login("station-st-tz-001")
subscription = call("POST", "/api/v1/webhooks/subscriptions", station,
                    {"url": f"http://127.0.0.1:{server.server_port}/hooks", "event_types": ["ticket.state_changed"]})
secret = subscription["secret"]
serial = call("GET", "/api/v1/units?limit=1", login("admin"))["items"][0]["serial"]
ticket = call("POST", "/api/v1/tickets", station, {
    "channel": "phone", "serial": serial, "fault": "not cooling", "category": "repair",
    "customer": {"name": "Wang Fang", "phone": "+86 576 8888 1234", "address": "12 Jiefang Rd", "region": "Zhejiang"}})
call("POST", f"/api/v1/tickets/{ticket['id']}/dispatch", station, {"technician": "tech-st-tz-001"})

deadline = time.time() + 20
while not got and time.time() < deadline:
    time.sleep(0.2)
if not got:
    raise SystemExit("webhooks: no message reached the receiver within 20 s")
headers, body = got[0]
message = Webhook(secret).verify(body, headers)
assert message["type"] == "ticket.state_changed" and message["data"]["id"] == ticket["id"], message
assert message["data"]["to"] == "dispatched", message
print(f"webhooks: {headers['webhook-id']} verified with standardwebhooks: {message['data']['from']} -> {message['data']['to']}")
try:
    Webhook(secret).verify(body.replace(b"dispatched", b"closed"), headers)
except WebhookVerificationError:
    print("webhooks: a changed body fails to verify")
else:
    raise SystemExit("webhooks: a changed body verified")
