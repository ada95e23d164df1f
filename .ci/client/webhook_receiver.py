"""A station's webhook receiver as its developer would write it: subscribe to its events, take a
parts request through backorder, fill, shipment, pick-up, delivery and a damaged receipt, and a
ticket through a change, and verify every signed message with the Standard Webhooks reference
library (`standardwebhooks` from PyPI); a changed body must fail to verify.

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


TYPES = ["parts_request.allocated", "parts_request.backordered", "backorder.filled", "shipment.picked_up",
         "shipment.delivered", "shipment.damaged", "claim.opened", "ticket.state_changed"]
admin, station = login("admin"), login("station-st-tz-001")
warehouse, courier = login("warehouse-rc-hz"), login("courier-1")
subscription = call("POST", "/api/v1/webhooks/subscriptions", station,
                    {"url": f"http://127.0.0.1:{server.server_port}/hooks", "event_types": TYPES})
secret = subscription["secret"]

# a part nobody stocks: the request waits; a receipt at RC-HZ fills it; shipped, picked up,
# delivered, and received with one of two units damaged
part = call("POST", "/api/v1/parts", admin, {
    "line": "RF", "family": "TST", "name": "Webhook test part", "unit_of_measure": "pcs", "unit_cost": "20.00",
    "sale_price": "20.00", "serialized": False, "core_returnable": False, "weight_grams": 250})["code"]
request = call("POST", "/api/v1/parts-requests", station, {"lines": [{"part_code": part, "qty": 2}], "urgency": "urgent"})
assert request["status"] == "backordered", request
call("POST", "/api/v1/receipts", admin, {"location": "RC-HZ", "lines": [{"part_code": part, "qty": 5}]})
call("POST", f"/api/v1/parts-requests/{request['id']}/ship", warehouse, {})
shipment = call("GET", f"/api/v1/shipments?request_id={request['id']}", warehouse)["items"][0]["id"]
for kind in ["picked_up", "delivered"]:
    call("POST", f"/api/v1/shipments/{shipment}/events", courier, {"kind": kind})
call("POST", f"/api/v1/parts-requests/{request['id']}/receive", station,
     {"lines": [{"line_no": 1, "received_qty": 1, "damaged_qty": 1}]})

serial = call("GET", "/api/v1/units?limit=1", admin)["items"][0]["serial"]
ticket = call("POST", "/api/v1/tickets", station, {
    "channel": "phone", "serial": serial, "fault": "not cooling", "category": "repair",
    "customer": {"name": "Wang Fang", "phone": "+86 576 8888 1234", "address": "12 Jiefang Rd", "region": "Zhejiang"}})
call("POST", f"/api/v1/tickets/{ticket['id']}/dispatch", station, {"technician": "tech-st-tz-001"})


def types():
    return {json.loads(body)["type"] for _, body in got}


deadline = time.time() + 30
while set(TYPES) - types() and time.time() < deadline:
    time.sleep(0.2)
if set(TYPES) - types():
    raise SystemExit(f"webhooks: within 30 s no {sorted(set(TYPES) - types())} reached the receiver (got {sorted(types())})")
ids = [headers["webhook-id"] for headers, _ in got]
assert len(ids) == len(set(ids)), f"a message came twice: {ids}"
for headers, body in got:
    message = Webhook(secret).verify(body, headers)
    changed = body.replace(b'"ST-TZ-001"', b'"ST-TZ-002"') if b'"ST-TZ-001"' in body else body.replace(b'"id"', b'"Id"')
    assert changed != body
    try:
        Webhook(secret).verify(changed, headers)
    except WebhookVerificationError:
        pass
    else:
        raise SystemExit(f"webhooks: a changed {message['type']} body verified")
    if message["type"] == "ticket.state_changed" and message["data"]["id"] == ticket["id"]:
        assert message["data"]["to"] == "dispatched", message
    elif message["type"] != "ticket.state_changed":
        assert message["object"]["kind"] in ("parts_request", "shipment", "claim"), message
print(f"webhooks: {len(got)} messages of {len(types())} types verified with standardwebhooks; each changed body fails")
