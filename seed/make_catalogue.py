#!/usr/bin/env python3
"""Writes the demo catalogue of spec section 17 into seed/: parts.csv (in the canonical
import/export format of POST /api/v1/parts/import), models.csv, compatibility.csv, units.csv and
unit_components.csv. Deterministic; rerun after edits (from the repository root).

Part codes are <LINE>-<FAMILY>-<SEQ><CHECK> with the ISO/IEC 7064 MOD 37-2 check character over
LINE FAMILY SEQ without the dashes, computed exactly as src/catalogue/codes.rs does; sequence
numbers whose check would be '*' are skipped, and so are codes confusable with one already issued
(rules::confusable), as echelon does. Dates are kept relative
(days ago) so that the demo always has units sold over the past three years.
"""
import csv
import random

random.seed(4)

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"


def mod37_2(payload):
    p = 0
    for ch in payload:
        p = ((p + ALPHABET.index(ch)) * 2) % 37
    return ALPHABET[(38 - p) % 37]


def issue(line, family, seq):
    check = mod37_2(f"{line}{family}{seq:05d}")
    return None if check == "*" else f"{line}-{family}-{seq:05d}{check}"


def key(code):
    return "".join(c for c in code if c.isalnum())


def confusable(a, b):
    """As rules::confusable: one dropped or added character could make the two codes equal."""
    a, b = key(a), key(b)
    if a == b or len(a) != len(b):
        return False
    row = [0] * (len(b) + 1)
    for x in a:
        diagonal = 0
        for j, y in enumerate(b):
            above = row[j + 1]
            row[j + 1] = diagonal + 1 if x == y else max(above, row[j])
            diagonal = above
    return row[len(b)] + 1 >= len(a)


# family: (name, variants, uom, cost range (yuan), serialized, core_returnable, grams, qty per unit)
FAMILIES = {
    "RF": {
        "CMP": ("Compressor", ["90 W R600a", "100 W R600a", "110 W R600a", "120 W R600a", "130 W R600a",
                               "inverter 95 W", "inverter 120 W", "inverter 145 W"], "pcs", (280, 520), True, True, (7500, 11000), [1]),
        "PCB": ("Main control board", ["BCD-2xx", "BCD-3xx", "BCD-4xx", "BCD-5xx", "inverter v2", "inverter v3", "WiFi"],
                "pcs", (120, 380), True, True, (250, 600), [1]),
        "FAN": ("Evaporator fan motor", ["DC 12 V", "DC 13 V", "AC 220 V", "brushless 9 W"], "pcs", (45, 110), False, False, (180, 420), [1]),
        "THS": ("Temperature sensor", ["freezer", "fridge", "ambient", "defrost", "variable zone"], "pcs", (8, 25), False, False, (20, 40), [1, 2]),
        "DFH": ("Defrost heater", ["160 W", "180 W", "220 W", "glass tube 200 W"], "pcs", (30, 75), False, False, (150, 320), [1]),
        "GSK": ("Door gasket", ["fridge door, white", "freezer door, white", "fridge door, grey", "side-by-side left", "side-by-side right", "drawer"],
                "pcs", (35, 90), False, False, (400, 900), [1]),
        "VLV": ("Solenoid valve", ["two-way", "three-way", "water dispenser"], "pcs", (40, 95), False, False, (120, 260), [1]),
        "ICM": ("Ice maker", ["twist tray", "auto 1.2 kg", "auto 1.8 kg"], "set", (180, 420), True, True, (1200, 2400), [1]),
        "LMP": ("LED lamp", ["1.5 W strip", "2 W round", "3 W panel", "freezer 1 W"], "pcs", (6, 22), False, False, (15, 60), [1, 2]),
        "HNG": ("Door hinge", ["upper", "middle", "lower", "upper, side-by-side"], "pcs", (12, 35), False, False, (90, 260), [1, 2]),
        "DRW": ("Crisper drawer", ["450 mm", "500 mm", "550 mm", "freezer 600 mm", "deli"], "pcs", (40, 120), False, False, (700, 1800), [1, 2, 3]),
        "SHL": ("Glass shelf", ["450 mm", "500 mm", "550 mm", "600 mm", "split"], "pcs", (30, 85), False, False, (1200, 2600), [2, 3, 4]),
    },
    "AC": {
        "CMP": ("Rotary compressor", ["1.0 HP R32", "1.5 HP R32", "2.0 HP R32", "3.0 HP R32", "inverter 1.0 HP", "inverter 1.5 HP",
                                      "inverter 2.0 HP", "inverter 3.0 HP"], "pcs", (650, 1600), True, True, (9000, 22000), [1]),
        "PCB": ("Indoor control board", ["split 26", "split 35", "split 50", "floor 72", "inverter 35", "inverter 50"], "pcs", (160, 420), True, True, (200, 500), [1]),
        "DSP": ("Display board", ["LED", "LCD", "hidden display"], "pcs", (35, 90), False, False, (40, 120), [1]),
        "BLW": ("Indoor fan motor", ["20 W", "30 W", "45 W", "DC 35 W"], "pcs", (110, 260), True, False, (900, 1800), [1]),
        "OFM": ("Outdoor fan motor", ["35 W", "60 W", "90 W", "DC 70 W"], "pcs", (150, 330), True, False, (1800, 3600), [1]),
        "EXV": ("Electronic expansion valve", ["1.6 mm", "2.2 mm", "3.2 mm"], "pcs", (70, 160), False, False, (150, 300), [1]),
        "RVV": ("Four-way reversing valve", ["small", "medium", "large"], "pcs", (60, 150), False, False, (250, 600), [1]),
        "RMT": ("Remote control", ["basic", "smart", "backlit"], "pcs", (15, 45), False, False, (90, 140), [1]),
        "SNS": ("Temperature sensor", ["room", "coil", "outdoor ambient", "discharge"], "pcs", (8, 25), False, False, (20, 40), [1, 2]),
        "CAP": ("Run capacitor", ["25 uF", "35 uF", "45 uF", "3 uF fan"], "pcs", (10, 30), False, False, (60, 180), [1]),
        "FLT": ("Air filter", ["standard", "HEPA", "activated carbon"], "pcs", (12, 45), False, False, (80, 200), [2]),
        "SWM": ("Swing motor", ["up-down", "left-right"], "pcs", (18, 40), False, False, (60, 120), [1, 2]),
    },
    "WM": {
        "MTR": ("Drive motor", ["universal 300 W", "universal 400 W", "inverter BLDC", "direct drive 8 kg", "direct drive 10 kg",
                                "direct drive 12 kg", "pulsator motor"], "pcs", (260, 780), True, True, (3500, 9000), [1]),
        "PCB": ("Main control board", ["drum 8 kg", "drum 10 kg", "drum 12 kg", "top-loader", "inverter v2", "dryer combo"], "pcs", (150, 400), True, True, (250, 600), [1]),
        "DSP": ("Display board", ["knob", "touch", "LED ring"], "pcs", (45, 120), False, False, (80, 200), [1]),
        "PMP": ("Drain pump", ["30 W", "40 W", "heat-pump dryer"], "pcs", (45, 110), False, False, (400, 800), [1]),
        "VLV": ("Inlet valve", ["single", "double", "triple"], "pcs", (25, 70), False, False, (120, 260), [1]),
        "BRG": ("Bearing kit", ["6203/6204", "6204/6205", "6205/6206", "6306/6307"], "set", (35, 110), False, False, (300, 900), [1]),
        "BLT": ("Drive belt", ["1192 J5", "1270 J5", "1965 H7"], "pcs", (15, 40), False, False, (60, 120), [1]),
        "DLK": ("Door lock", ["3-pin", "4-pin", "instant"], "pcs", (25, 60), False, False, (80, 150), [1]),
        "SHK": ("Shock absorber", ["80 N", "100 N", "120 N"], "pcs", (15, 40), False, False, (250, 450), [2]),
        "HTR": ("Heating element", ["1800 W", "2000 W"], "pcs", (40, 95), False, False, (300, 500), [1]),
        "SEL": ("Tub seal", ["door boot 8 kg", "door boot 10 kg", "shaft seal"], "pcs", (35, 120), False, False, (400, 1200), [1]),
        "SPR": ("Suspension spring", ["top", "side"], "pcs", (8, 20), False, False, (60, 120), [2]),
    },
}

MODELS = {
    "RF": [("BCD-539WT", "539 L side-by-side"), ("BCD-470WDPG", "470 L French door"), ("BCD-252FDGL", "252 L two-door"),
           ("BCD-406WDGA", "406 L four-door"), ("BCD-216STPT", "216 L three-door"), ("BCD-328WDPT", "328 L bottom freezer"),
           ("BCD-160TMPQ", "160 L two-door"), ("BCD-628WKPT", "628 L side-by-side with ice maker"),
           ("BCD-401WLHFD", "401 L cross-door"), ("BCD-190TMPK", "190 L compact")],
    "AC": [("KFR-35GW.N1A", "1.5 HP wall split"), ("KFR-26GW.N2B", "1.0 HP wall split"), ("KFR-50LW.B1A", "2.0 HP floor standing"),
           ("KFR-72LW.B2C", "3.0 HP floor standing"), ("KFR-32GW.JCA", "1.25 HP inverter wall split"),
           ("KFR-35GW.ZBA", "1.5 HP inverter wall split"), ("KF-23GW.CA", "1.0 HP cooling only"),
           ("KFR-51LW.ZDA", "2.0 HP inverter floor standing"), ("KFR-120QW.C1A", "5.0 HP ceiling cassette"),
           ("KFR-26GW.PTA", "1.0 HP inverter wall split")],
    "WM": [("XQG100-B14", "10 kg front loader"), ("XQG80-HB12", "8 kg front loader"), ("XQB90-M21", "9 kg top loader"),
           ("XQG120-HBD14", "12 kg washer-dryer"), ("EG10014B39", "10 kg direct drive"), ("EG8012B29", "8 kg direct drive"),
           ("XQB75-M12", "7.5 kg top loader"), ("XQG90-BD14126L", "9 kg inverter front loader"),
           ("XQS100-BZ866", "10 kg twin-tub"), ("EG100HB129", "10 kg heat-pump washer-dryer")],
}
LINE_NAMES = {"RF": "refrigerator", "AC": "air conditioner", "WM": "washing machine"}
WARRANTY = {"RF": (12, {"CMP": 120}), "AC": (72, {"CMP": 120, "PCB": 72}), "WM": (36, {"MTR": 120})}
MAIN = {"RF": "CMP", "AC": "CMP", "WM": "MTR"}


def money(cents):
    return f"{cents // 100}.{cents % 100:02d}"


parts = []  # dicts in the canonical column order
issued = []  # every code so far: a new one must not be confusable with any
by_family = {}
for line, families in FAMILIES.items():
    for family, (name, variants, uom, (lo, hi), serialized, core, (glo, ghi), _) in families.items():
        seq = random.randint(1, 400)
        codes = []
        named = [v + rev for v in variants for rev in ["", " mk II"]]
        for variant in named:
            code = None
            while code is None or any(confusable(code, other) for other in issued):
                code = issue(line, family, seq)
                seq += 1
            issued.append(code)
            seq += random.randint(0, 2)
            cost = random.randint(lo * 100, hi * 100) // 10 * 10
            price = cost * random.choice([150, 160, 170, 180]) // 100 // 50 * 50
            parts.append({
                "code": code, "name": f"{name}, {variant}" if "," not in variant and random.random() < 0.15 else f"{name} {variant}",
                "line": line, "family": family, "unit_of_measure": uom, "unit_cost": money(cost), "sale_price": money(price),
                "serialized": "true" if serialized else "false", "core_returnable": "true" if core else "false",
                "weight_grams": str(random.randint(glo, ghi)), "lifecycle": "active", "superseded_by": "", "interchangeability": "",
            })
            codes.append(code)
        by_family[(line, family)] = codes

part_by_code = {p["code"]: p for p in parts}
# supersessions: in some families the oldest part is replaced by a newer one; one chain of two
# links per line (old -> middle -> new)
for (line, family), codes in by_family.items():
    if len(codes) < 4 or random.random() < 0.4:
        continue
    old, new = codes[0], codes[-1]
    part_by_code[old].update(lifecycle=random.choice(["phase_out", "obsolete"]), superseded_by=new,
                             interchangeability=random.choice(["one_way", "one_way", "two_way"]))
for line, family in [("RF", "PCB"), ("AC", "PCB"), ("WM", "PCB")]:
    a, b, c = by_family[(line, family)][1:4]
    part_by_code[a].update(lifecycle="obsolete", superseded_by=b, interchangeability="one_way")
    part_by_code[b].update(lifecycle="phase_out", superseded_by=c, interchangeability="two_way")
for p in parts:
    if p["lifecycle"] == "active" and not p["superseded_by"] and random.random() < 0.05:
        p["lifecycle"] = "phase_out"
parts.sort(key=lambda p: p["code"])

models, compat, units, components = [], [], [], []
regions = []
with open("seed/locations.csv", newline="") as f:
    for row in csv.DictReader(f):
        if row["kind"] == "regional_centre" and row["region"] not in regions:
            regions.append(row["region"])
region_weights = [6 if r == "Zhejiang" else 3 if r in ("Shanghai", "Jiangsu", "Guangdong") else 1 for r in regions]

serial_no = 0
for line, line_models in MODELS.items():
    months, terms = WARRANTY[line]
    for i, (code, name) in enumerate(line_models):
        launch_ago = random.randint(1100, 2600) if i < 7 else random.randint(400, 1000)
        eop_ago = random.randint(60, 700) if i in (0, 3) else None
        models.append([code, line, f"{name} {LINE_NAMES[line]}", launch_ago, eop_ago if eop_ago else "", months,
                       ";".join(f"{k}:{v}" for k, v in terms.items())])
        fits = {}
        for family, spec in FAMILIES[line].items():
            codes = by_family[(line, family)]
            chosen = random.sample(codes, 2 if len(codes) > 4 and random.random() < 0.3 else 1)
            for c in chosen:
                fits[c] = random.choice(spec[7])
                # a superseded part's successors fit too
                s = part_by_code[c]["superseded_by"]
                while s:
                    fits[s] = fits[c]
                    s = part_by_code[s]["superseded_by"]
        for c in sorted(fits):
            compat.append([code, c, fits[c]])
        main = sorted(c for c in fits if part_by_code[c]["family"] == MAIN[line])
        pcb = sorted(c for c in fits if part_by_code[c]["family"] == "PCB")
        lo = max(1, eop_ago - 90) if eop_ago else 1
        hi = min(1095, launch_ago - 1)
        for _ in range(random.randint(25, 42)):
            serial_no += 1
            serial = f"{line}{serial_no:08d}"
            ago = random.randint(lo, hi)
            units.append([serial, code, random.choices(regions, region_weights)[0], ago])
            m = random.choice(main)
            components.append([serial, MAIN[line], m, f"{MAIN[line]}{random.randint(10**9, 10**10 - 1)}", ""])
            components.append([serial, "PCB", random.choice(pcb), "", random.randint(7, 90)])


def write(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


COLUMNS = ["code", "name", "line", "family", "unit_of_measure", "unit_cost", "sale_price", "serialized", "core_returnable",
           "weight_grams", "lifecycle", "superseded_by", "interchangeability"]
write("seed/parts.csv", COLUMNS, [[p[c] for c in COLUMNS] for p in parts])
write("seed/models.csv", ["code", "line", "name", "launch_days_ago", "end_of_production_days_ago", "warranty_months",
                          "component_warranty"], models)
write("seed/compatibility.csv", ["model", "part_code", "qty_per_unit"], compat)
write("seed/units.csv", ["serial", "model", "region", "shipped_days_ago"], units)
write("seed/unit_components.csv", ["unit_serial", "family", "part_code", "serial", "production_days_before_ship"], components)
print(len(parts), "parts,", len(models), "models,", len(compat), "compatibility rows,", len(units), "units,",
      len(components), "components")
