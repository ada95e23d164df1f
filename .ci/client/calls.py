"""A few calls through the client generated from the served OpenAPI document, against a served
demo, as a station's developer would make them: log in, read, write, upload a file, take a
binary answer, call an operation whose body is optional without one, and read a problem
document. Any answer not of the documented model fails the run.

Usage: calls.py BASE_URL (the package `echelon_client` on PYTHONPATH)
"""
import io
import sys

from echelon_client import AuthenticatedClient, Client
from echelon_client.api.auth import login, me
from echelon_client.api.catalogue import export_parts, get_part, import_parts, list_parts, list_units
from echelon_client.api.reports import kpi_sparkline
from echelon_client.api.tickets import create_ticket, get_ticket, list_tickets, sample
from echelon_client.models import (
    ImportResult, LoginRequest, NewTicketIn, PagePartOut, PageTicketOut, PartDetail, Problem, SampleOut,
    TicketChannel, TicketCategory, TicketCustomer, TicketOut, TokenResponse,
)
from echelon_client.types import File

base = sys.argv[1]


def expect(value, kind, what):
    if not isinstance(value, kind):
        raise SystemExit(f"generated client: {what} answered {value!r}, not a {kind.__name__}")
    print(f"generated client: {what}: {kind.__name__}")
    return value


def session(username):
    token = login.sync(client=Client(base_url=base), body=LoginRequest(username=username, password="echelon-demo"))
    token = expect(token, TokenResponse, f"log in as {username}")
    return AuthenticatedClient(base_url=base, token=token.access_token)


admin = session("admin")
assert me.sync(client=admin).username == "admin"

# a page's items are the item's own class
page = expect(list_parts.sync(client=admin, limit=5), PagePartOut, "list parts")
assert len(page.items) == 5, page
part = expect(get_part.sync(client=admin, code=page.items[0].code), PartDetail, "read a part")
assert part.code == page.items[0].code

# a problem document, with its extra members kept
missing = expect(get_part.sync(client=admin, code=page.items[0].code[:-1] + "0"), Problem, "read a mistyped code")
assert missing.status in (404, 422) and "suggestions" in missing.additional_properties, missing

# the catalogue file out and back in as an upload: nothing changes
csv = export_parts.sync(client=admin)
upload = File(payload=io.BytesIO(csv.encode("utf-8")), file_name="parts.csv", mime_type="application/octet-stream")
result = expect(import_parts.sync(client=admin, body=upload), ImportResult, "import the exported catalogue")
assert result.unchanged == result.rows > 0, result

# a binary answer
svg = expect(kpi_sparkline.sync(client=admin), File, "a KPI sparkline")
assert svg.payload.read().startswith(b"<svg"), "the sparkline is an SVG"

# a write with a nested body, as a station
station = session("station-st-tz-001")
unit = list_units.sync(client=admin, limit=1).items[0]
ticket = expect(
    create_ticket.sync(
        client=station,
        body=NewTicketIn(
            channel=TicketChannel.PHONE,
            customer=TicketCustomer(name="Wang Fang", phone="+86 576 8888 1234", address="12 Jiefang Rd", region="Zhejiang"),
            serial=unit.serial,
            fault="not cooling",
            category=TicketCategory.REPAIR,
        ),
    ),
    TicketOut,
    "take in a ticket",
)
assert get_ticket.sync(client=station, id=ticket.id).id == ticket.id
tickets = expect(list_tickets.sync(client=station), PageTicketOut, "list the station's tickets")
assert any(t.id == ticket.id for t in tickets.items)

# an operation whose body is optional, called without one
expect(sample.sync(client=session("agent")), SampleOut, "draw the follow-up sample without a body")
print("generated client: all calls passed")
