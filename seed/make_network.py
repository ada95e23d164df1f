#!/usr/bin/env python3
"""Writes seed/locations.csv: the demo network of spec section 17 (HQ, 30 regional centres,
300 stations over tiers A-D, the virtual ledger locations). Deterministic; rerun after edits."""
import csv
import random

random.seed(17)
centres = [
    ("RC-HZ", "Hangzhou", "Zhejiang"), ("RC-NB", "Ningbo", "Zhejiang"), ("RC-SH", "Shanghai", "Shanghai"),
    ("RC-BJ", "Beijing", "Beijing"), ("RC-TJ", "Tianjin", "Tianjin"), ("RC-SY", "Shenyang", "Liaoning"),
    ("RC-CC", "Changchun", "Jilin"), ("RC-HB", "Harbin", "Heilongjiang"), ("RC-JN", "Jinan", "Shandong"),
    ("RC-QD", "Qingdao", "Shandong"), ("RC-ZZ", "Zhengzhou", "Henan"), ("RC-TY", "Taiyuan", "Shanxi"),
    ("RC-XA", "Xi'an", "Shaanxi"), ("RC-LZ", "Lanzhou", "Gansu"), ("RC-CD", "Chengdu", "Sichuan"),
    ("RC-CQ", "Chongqing", "Chongqing"), ("RC-WH", "Wuhan", "Hubei"), ("RC-CS", "Changsha", "Hunan"),
    ("RC-NC", "Nanchang", "Jiangxi"), ("RC-HF", "Hefei", "Anhui"), ("RC-NJ", "Nanjing", "Jiangsu"),
    ("RC-SZ", "Suzhou", "Jiangsu"), ("RC-FZ", "Fuzhou", "Fujian"), ("RC-XM", "Xiamen", "Fujian"),
    ("RC-GZ", "Guangzhou", "Guangdong"), ("RC-SZN", "Shenzhen", "Guangdong"), ("RC-NN", "Nanning", "Guangxi"),
    ("RC-KM", "Kunming", "Yunnan"), ("RC-GY", "Guiyang", "Guizhou"), ("RC-UR", "Urumqi", "Xinjiang"),
]
zhejiang = [("TZ", "Taizhou"), ("HZ", "Hangzhou"), ("SX", "Shaoxing"), ("JH", "Jinhua"), ("WZ", "Wenzhou"),
            ("HU", "Huzhou"), ("JX", "Jiaxing"), ("LS", "Lishui"), ("QZ", "Quzhou"), ("ZS", "Zhoushan")]
tiers = ["A"] * 1 + ["B"] * 3 + ["C"] * 4 + ["D"] * 2

rows = [("HQ", "Central parts warehouse, Qingdao", "central_warehouse", "", "Shandong", "Qingdao", "", "")]
for code, city, region in centres:
    rows.append((code, f"{city} regional service centre", "regional_centre", "HQ", region, city, "",
                 str(random.choice([2, 2, 3, 3, 4]))))
for code, city, region in centres:
    if code == "RC-HZ":
        # Hangzhou's stations are in the cities of Zhejiang; ST-TZ-001 is tier B and every tier
        # is present under RC-HZ.
        fixed = {"ST-TZ-001": "B", "ST-HZ-001": "A", "ST-SX-001": "C", "ST-JH-001": "D"}
        for abbr, scity in zhejiang:
            scode = f"ST-{abbr}-001"
            tier = fixed.get(scode, random.choice(tiers))
            rows.append((scode, f"{scity} service station 1", "station", code, region, scity, tier,
                         str(random.choice([1, 1, 2]))))
        continue
    abbr = code[3:]
    for i in range(1, 11):
        scode = f"ST-{abbr}-{i:03d}"
        rows.append((scode, f"{city} service station {i}", "station", code, region, city,
                     random.choice(tiers), str(random.choice([1, 1, 2]))))
for code, name, kind in [
    ("SUPPLIER", "Suppliers (all)", "supplier"), ("IN-TRANSIT", "Goods in transit", "in_transit"),
    ("CUSTOMER", "Installed in customers' products", "customer"),
    ("DEFECTIVE", "Old parts awaiting inspection", "defective"),
    ("QUARANTINE", "Damaged goods awaiting a claim", "quarantine"), ("SCRAP", "Scrapped", "scrap"),
    ("ADJUSTMENT", "Stock-count corrections", "adjustment"),
]:
    rows.append((code, name, kind, "", "", "", "", ""))

with open("seed/locations.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["code", "name", "kind", "parent", "region", "city", "tier", "lead_time_days"])
    w.writerows(rows)
print(len(rows), "locations")
