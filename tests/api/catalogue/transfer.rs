//! `POST /parts/import` and `GET /parts/export`: a bad row rejects the whole file, a good file
//! round-trips byte for byte.

use echelon::catalogue::PartCode;

use super::{export, import, import_as};
use crate::both;

/// A canonical import file of new parts in family `family` of RF, one superseding another.
fn new_parts_file(family: &str) -> (String, Vec<String>) {
    let codes: Vec<String> =
        (1..=20).filter_map(|s| PartCode::issue("RF", family, s)).take(3).map(|c| c.to_string()).collect();
    let csv = format!(
        "{}\n{},Test fan A,RF,{family},pcs,10.00,15.50,false,false,120,phase_out,{},one_way\n\
         {},\"Test fan B, quiet\",RF,{family},pcs,12.00,18.00,false,false,125,active,,\n\
         {},Test fan C,RF,{family},set,0.50,1.00,true,true,0,active,,\n",
        echelon::catalogue::transfer::COLUMNS.join(","),
        codes[0],
        codes[1],
        codes[1],
        codes[2]
    );
    (csv, codes)
}

both!(a_bad_row_rejects_the_whole_file_and_a_good_file_round_trips, |app| async {
    let before = export(&app, "admin").await;
    let count = before.lines().count();
    let (good, codes) = new_parts_file("TFN");
    // one bad row in the middle (line 3): a wrong check character and a negative price
    let mut lines: Vec<String> = good.lines().map(str::to_string).collect();
    let broken = codes[1][..12].to_string() + if codes[1].ends_with('A') { "B" } else { "A" };
    lines[2] = lines[2].replacen(&codes[1], &broken, 1).replacen("12.00", "-12.00", 1);
    let bad = lines.join("\n") + "\n";
    let r = import(&app, "admin", &bad).await;
    let errors = r.problem(422)["errors"].as_array().unwrap().clone();
    assert!(errors.iter().all(|e| e["line"] == 3), "{errors:?}");
    let columns: Vec<&str> = errors.iter().map(|e| e["column"].as_str().unwrap()).collect();
    assert!(columns.contains(&"code") && columns.contains(&"unit_cost"), "{columns:?}");
    assert_eq!(export(&app, "admin").await.lines().count(), count, "nothing was written");
    app.get(&format!("/api/v1/parts/{}", codes[0]), Some("admin")).await.problem(422);

    // a successor missing from file and catalogue is an error of its line too
    let orphan = good.replacen(
        &format!(",{},one_way", codes[1]),
        &format!(",{},one_way", codes[2].replace("TFN", "TFX")),
        1,
    );
    let r = import(&app, "admin", &orphan).await;
    assert!(r.problem(422)["errors"][0]["line"] == 2, "{}", r.text);

    let r = import(&app, "admin", &good).await;
    assert_eq!(r.ok()["created"], 3, "{}", r.text);
    let after = export(&app, "admin").await;
    assert_eq!(after.lines().count(), count + 3);
    let mine: Vec<&str> = after.lines().filter(|l| l.contains("-TFN-")).collect();
    assert_eq!(mine.join("\n") + "\n", good.lines().skip(1).collect::<Vec<_>>().join("\n") + "\n");
    let a = app.get(&format!("/api/v1/parts/{}", codes[0]), Some("admin")).await;
    assert_eq!(a.ok()["successor"]["code"], codes[1].as_str());

    // the whole export imports back unchanged and exports byte for byte the same
    let r = import(&app, "admin", &after).await;
    assert_eq!(r.ok()["unchanged"], r.json["rows"], "{}", r.text);
    assert_eq!(export(&app, "admin").await, after);

    // a changed row updates its part
    let changed = good.replace("Test fan C", "Test fan C2");
    assert_eq!(import(&app, "admin", &changed).await.ok()["updated"], 1);
    assert_eq!(
        app.get(&format!("/api/v1/parts/{}", codes[2]), Some("admin")).await.ok()["name"],
        "Test fan C2"
    );

    // a name a spreadsheet would run as a formula is exported with a leading ', after the
    // byte-order mark (bom=false leaves it out), and imports back as it was
    let formula = good.replace("Test fan C,", "\"=SUM(1,2) 室内风机\",");
    assert_eq!(import(&app, "admin", &formula).await.ok()["updated"], 1);
    let token = app.token("admin").await;
    let raw = |query: &'static str| {
        let url = format!("{}/api/v1/parts/export{query}", app.base);
        let (client, token) = (app.client.clone(), token.clone());
        async move { client.get(url).bearer_auth(token).send().await.unwrap().bytes().await.unwrap().to_vec() }
    };
    let with_bom = raw("").await;
    assert!(with_bom.starts_with(b"\xEF\xBB\xBFcode,"), "{:?}", &with_bom[..12]);
    let without = raw("?bom=false").await;
    assert_eq!(&with_bom[3..], &without[..], "the mark is the only difference");
    let file = String::from_utf8(with_bom).unwrap();
    assert!(file.contains(&format!("{},\"'=SUM(1,2) 室内风机\",", codes[2])), "{file}");
    let r = import(&app, "admin", &file).await;
    assert_eq!(r.ok()["unchanged"], r.json["rows"], "{}", r.text);
    let part = app.get(&format!("/api/v1/parts/{}", codes[2]), Some("admin")).await;
    assert_eq!(part.ok()["name"], "=SUM(1,2) 室内风机");
    app.get("/api/v1/parts/export?bom=maybe", Some("admin")).await.problem(400);

    // a file upload (Swagger UI, generated clients) sends the same CSV as bytes
    let now = export(&app, "admin").await;
    let r = import_as(&app, "admin", "application/octet-stream", now.into_bytes()).await;
    assert_eq!(r.ok()["unchanged"], r.json["rows"], "{}", r.text);

    // not CSV, or not an admin
    let r = import_as(&app, "admin", "application/json", b"{}".to_vec()).await;
    r.problem(415);
    // a file declared in a charset other than UTF-8 is not read as UTF-8 (nothing written);
    // UTF-8 named, in any case, is read
    let before = export(&app, "admin").await;
    let latin1 = import_as(&app, "admin", "text/csv; charset=latin1", good.clone().into_bytes()).await;
    assert_eq!(latin1.problem(415)["type"], "/problems/unsupported_media_type");
    assert_eq!(export(&app, "admin").await, before);
    let utf8 = import_as(&app, "admin", "text/csv; charset=UTF-8", before.into_bytes()).await;
    assert_eq!(utf8.ok()["unchanged"], utf8.json["rows"], "{}", utf8.text);
    import(&app, "station-st-tz-001", &good).await.problem(403);
    import(&app, "admin", "").await.problem(422);
});

both!(a_nul_or_a_byte_that_is_not_text_in_a_file_is_its_rows_error_and_nothing_is_written, |app| async {
    let before = export(&app, "admin").await;
    let (good, codes) = new_parts_file("TNL");
    // a NUL in a name (line 2) and in a price (line 4): each named by its line and column
    let with_nul = good.replacen("Test fan A", "Test\0fan A", 1).replacen("0.50", "0.5\0", 1);
    let r = import(&app, "admin", &with_nul).await;
    let errors = r.problem(422)["errors"].as_array().unwrap().clone();
    let at: Vec<(i64, &str)> =
        errors.iter().map(|e| (e["line"].as_i64().unwrap(), e["column"].as_str().unwrap())).collect();
    assert!(at.contains(&(2, "name")) && at.contains(&(4, "unit_cost")), "{errors:?}");
    assert!(errors.iter().all(|e| e["message"] == "holds a NUL character"), "{errors:?}");
    // bytes that are not UTF-8 in a cell
    let mut bytes = good.clone().into_bytes();
    let at = good.find("Test fan A").unwrap();
    bytes[at + 4] = 0xFF;
    let r = import_as(&app, "admin", "text/csv", bytes).await;
    assert_eq!(r.problem(422)["errors"][0]["line"], 2, "{}", r.text);
    // nothing of either file was written
    assert_eq!(export(&app, "admin").await, before);
    app.get(&format!("/api/v1/parts/{}", codes[0]), Some("admin")).await.problem(422);
});

both!(whether_a_part_is_serialized_cannot_change_while_any_of_it_is_held, |app| async {
    let held = app.part().stock_at("RC-HZ", 5).create().await;
    let empty = app.part().create().await;
    let path = format!("/api/v1/parts/{held}");
    // by PATCH: 409 naming the field, and the part stays as it was
    let r = app.patch(&path, "admin", serde_json::json!({"serialized": true})).await;
    assert_eq!(r.problem(409)["type"], "/problems/part_held", "{}", r.text);
    assert_eq!(r.json["field"], "serialized");
    assert_eq!(app.get(&path, Some("admin")).await.ok()["serialized"], false);
    // sending the flag it already has changes nothing and is no fault
    app.patch(&path, "admin", serde_json::json!({"serialized": false, "name": "Held fan"})).await.ok();
    // by import: the file is refused naming its line and column, and nothing is written
    let before = export(&app, "admin").await;
    let row = before.lines().find(|l| l.starts_with(&held)).unwrap().to_string();
    let flipped = row.replacen(",false,", ",true,", 1);
    assert_ne!(row, flipped);
    let file = format!("{}\n{flipped}\n", before.lines().next().unwrap());
    let r = import(&app, "admin", &file).await;
    let errors = r.problem(422)["errors"].as_array().unwrap().clone();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!((errors[0]["line"].as_i64(), errors[0]["column"].as_str()), (Some(2), Some("serialized")));
    assert_eq!(export(&app, "admin").await, before, "nothing was written");
    // a part none of which is held may change it, both ways
    for flag in [true, false] {
        let r = app
            .patch(&format!("/api/v1/parts/{empty}"), "admin", serde_json::json!({"serialized": flag}))
            .await;
        assert_eq!(r.ok()["serialized"], flag);
    }
});
