#!/usr/bin/env python3
"""Sweep string problem kinds into the closed `Problem` enum of src/error.rs.

Re-runnable on any tree (for example after a merge): it finds every problem kind still written
as a string literal at a call site, replaces it with `Problem::<Variant>`, adds `Problem` to the
file's `use crate::error::{...}` line, and appends to the `problem_kinds!` table of
src/error.rs any kind the table does not list yet (status from its call site, a title made from
its slug: edit the title afterwards). It also checks that every call site's status is one of its
kind's statuses in the table, adding it there if not. Run from the crate root, then
`cargo fmt` and `cargo check --all-targets`:

    python3 tools/problem_kinds.py          # rewrite
    python3 tools/problem_kinds.py --check  # exit 1 if anything is left to rewrite
"""
import pathlib
import re
import sys

ERROR_RS = pathlib.Path("src/error.rs")
STATUS_OF = {"bad_request": "BAD_REQUEST", "conflict": "CONFLICT", "unprocessable": "UNPROCESSABLE_ENTITY"}
ROW = re.compile(r'^(\s*)(\w+) => \("([a-z_]+)", ([A-Z_]+(?: \| [A-Z_]+)*), "([^"]*)"\),\s*$')
SLUG = r'"([a-z][a-z0-9_]*)"'
# `AppError::conflict("kind", ...)`, and local helpers of the same name (`conflict("kind", ...)`)
CONVENIENCE = re.compile(r'\b(bad_request|conflict|unprocessable)\(\s*' + SLUG)
# `AppError::new(StatusCode::X, "kind", ...)`
NEW = re.compile(r'\bAppError::new\(\s*(?:[\w:]*::)?StatusCode::([A-Z_]+),\s*' + SLUG)
# a match arm choosing the kind: `Err(..) => ("kind", detail, ...)`
ARM = re.compile(r'=>\s*\(\s*' + SLUG + r',')
# a comparison: `e.kind == "already_exists"`
COMPARE = re.compile(r'\.kind\s*(==|!=)\s*' + SLUG)
# a closure or function taking a kind: `|kind: &'static str, ...|`
KIND_PARAM = re.compile(r"\bkind: &'static str(?=, detail)")


def variant_of(slug):
    return "".join(w.capitalize() for w in slug.split("_"))


def title_of(slug):
    small = {"a", "an", "the", "to", "of", "in", "by"}
    upper = {"json": "JSON", "csv": "CSV", "uri": "URI", "qty": "Quantity"}
    words = slug.split("_")
    return " ".join(
        upper.get(w) or (w if i and w in small else w.capitalize()) for i, w in enumerate(words)
    )


def read_table(text):
    rows = {}
    for line in text.splitlines():
        m = ROW.match(line)
        if m:
            _, variant, slug, statuses, title = m.groups()
            rows[slug] = [variant, statuses.split(" | "), title]
    return rows


def write_table(text, rows, added):
    lines = text.splitlines(keepends=True)
    out = []
    for line in lines:
        m = ROW.match(line)
        if m:
            indent, variant, slug, _, title = m.groups()
            v, statuses, t = rows[slug]
            line = f'{indent}{v} => ("{slug}", {" | ".join(statuses)}, "{t}"),\n'
            last_indent = indent
        out.append(line)
        if m:
            last = len(out)
    new = [f'{last_indent}{rows[s][0]} => ("{s}", {" | ".join(rows[s][1])}, "{rows[s][2]}"),\n' for s in added]
    out[last:last] = new
    return "".join(out)


def add_import(text):
    if re.search(r"use crate::error::\{[^}]*\bProblem\b", text) or "use crate::error::Problem;" in text:
        return text
    m = re.search(r"use crate::error::\{([^}]*)\};", text)
    if m:
        names = [n.strip() for n in m.group(1).split(",") if n.strip()] + ["Problem"]
        return text[: m.start()] + "use crate::error::{" + ", ".join(sorted(names)) + "};" + text[m.end():]
    m = re.search(r"use crate::error::(\w+);", text)
    if m:
        names = sorted([m.group(1), "Problem"])
        return text[: m.start()] + "use crate::error::{" + ", ".join(names) + "};" + text[m.end():]
    m = re.search(r"^use [^\n]*;\n", text, re.M)
    at = m.start() if m else 0
    return text[:at] + "use crate::error::Problem;\n" + text[at:]


def main():
    check = "--check" in sys.argv
    error_text = ERROR_RS.read_text()
    rows = read_table(error_text)
    if not rows:
        sys.exit("no problem_kinds! table found in src/error.rs")
    added, widened, changed = [], [], []

    def need(slug, status, where):
        if slug not in rows:
            rows[slug] = [variant_of(slug), [status], title_of(slug)]
            added.append(slug)
        elif status not in rows[slug][1]:
            rows[slug][1].append(status)
            widened.append(f"{slug} also {status} ({where})")
        return "Problem::" + rows[slug][0]

    for path in sorted(pathlib.Path("src").rglob("*.rs")):
        if path == ERROR_RS:
            continue
        text = path.read_text()
        if "AppError" not in text:
            continue
        new = text

        def where(m):
            return f"{path}:{new.count(chr(10), 0, m.start()) + 1}"

        def convenience(m):
            v = need(m.group(2), STATUS_OF[m.group(1)], where(m))
            return m.group(0).replace(f'"{m.group(2)}"', v)

        def new_call(m):
            v = need(m.group(2), m.group(1), where(m))
            return m.group(0).replace(f'"{m.group(2)}"', v)

        def arm(m):
            # only kinds the table knows: a match arm may choose other strings too
            if m.group(1) not in rows:
                return m.group(0)
            return m.group(0).replace(f'"{m.group(1)}"', "Problem::" + rows[m.group(1)][0])

        def compare(m):
            if m.group(2) not in rows:  # another `kind` (a location's, a proposal's)
                return m.group(0)
            return f".kind {m.group(1)} Problem::{rows[m.group(2)][0]}"

        new = CONVENIENCE.sub(convenience, new)
        new = NEW.sub(new_call, new)
        new = ARM.sub(arm, new)
        new = COMPARE.sub(compare, new)
        new = KIND_PARAM.sub("kind: Problem", new)
        if new != text:
            new = add_import(new)
            changed.append(str(path))
            if not check:
                path.write_text(new)

    if added or widened:
        if not check:
            ERROR_RS.write_text(write_table(error_text, rows, added))
    for s in added:
        print(f"added kind {s} ({' | '.join(rows[s][1])}): check its title \"{rows[s][2]}\"")
    for w in widened:
        print(f"widened: {w}")
    for c in changed:
        print(f"{'would rewrite' if check else 'rewrote'} {c}")
    if check and (added or widened or changed):
        sys.exit(1)


if __name__ == "__main__":
    main()
