"""Fails when the generated client lost anything: every warning of the generator must be one
that drops nothing (listed below, each with its reason), every operation of the document must
have its function, and every object schema its model class.

Usage: check_generation.py DOCUMENT GENERATOR_LOG CLIENT_PACKAGE_DIR
"""
import json
import pathlib
import re
import sys

doc_path, log_path, package = sys.argv[1:4]
doc = json.loads(pathlib.Path(doc_path).read_text())
log = pathlib.Path(log_path).read_text()
package = pathlib.Path(package)

# Warnings that drop nothing: the import's `text/csv` body is one of two media types of one
# body, and the generator keeps the operation with the other (application/octet-stream, the
# same bytes). Each entry: (the warning's heading, the one reason it may give).
HARMLESS = {
    ("WARNING parsing POST /api/v1/parts/import within catalogue.", "Unsupported content type text/csv"),
}

faults = []
blocks = re.split(r"\n(?=WARNING|ERROR)", log)
for block in blocks[1:]:
    lines = [l for l in block.strip().splitlines() if l.strip()]
    heading, reason = lines[0].strip(), (lines[1].strip() if len(lines) > 1 else "")
    dropped = "will not be generated" in block or "will be omitted" in block
    if dropped or (heading, reason) not in HARMLESS:
        faults.append(f"{heading} {reason}")

sources = "\n".join(p.read_text() for p in (package / "api").rglob("*.py"))
for path, item in doc["paths"].items():
    for method, op in item.items():
        if method not in ("get", "put", "post", "patch", "delete"):
            continue
        if f'"method": "{method}",\n        "url": "{path}"' not in sources:
            faults.append(f"no function for {method.upper()} {path} ({op.get('operationId')})")

models = "\n".join(p.read_text() for p in (package / "models").glob("*.py"))
for name, schema in doc["components"]["schemas"].items():
    if schema.get("type") == "object" and schema.get("properties"):
        class_name = re.sub(r"[^A-Za-z0-9]", "", name[0].upper() + name[1:])
        if f"class {class_name}:" not in models:
            faults.append(f"no model class for the schema {name}")

count = sum(len([m for m in i if m in ("get", "put", "post", "patch", "delete")]) for i in doc["paths"].values())
if faults:
    print("the generated client lost parts of the API:")
    print("\n".join(f"  {f}" for f in faults))
    sys.exit(1)
print(f"generated client: {count} operations and every object schema kept; warnings: {len(blocks) - 1}, none dropping")
